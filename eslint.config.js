import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'build/', 'bench-results/', 'web/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: globals.node,
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Core max-len is deprecated (since ESLint 8.53, kept until 11); @stylistic/max-len
    // replaces it once that plugin is a dependency.
    files: ['src/**/*.ts'],
    rules: {
      'max-len': ['error', { code: 100 }],
    },
  },
);

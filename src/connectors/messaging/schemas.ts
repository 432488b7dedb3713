/**
 * Zod schemas of the messaging connector, for the host only (the manifest and the
 * configuration): the sandboxed worker cannot load zod, which lives in node_modules.
 */
import { z } from 'zod';

/** The connector's output (the manifest's `output` schema): the API's message id only. */
export const sendOutput = z.strictObject({ message_id: z.string().min(1).max(512) });
export type SendOutput = z.infer<typeof sendOutput>;

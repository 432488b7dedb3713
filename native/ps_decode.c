/*
 * ps_decode: grammar-constrained speech recognition with a confidence signal.
 *
 * Reads raw 16 kHz mono 16-bit audio (host byte order, little-endian on every
 * supported host) from stdin while it arrives and feeds every block to two
 * pocketsphinx decoders built from the same acoustic model:
 *
 *   - a grammar decoder (JSGF), which gives the transcript;
 *   - a free phone-loop decoder (allphone), which gives the best acoustic
 *     explanation of the same audio without the grammar's constraint.
 *
 * Both decoders compute every senone in every frame (-compallsen yes), so their
 * acoustic scores are normalised by the same per-frame best senone and can be
 * compared. At end of input one JSON line goes to stdout with the transcript,
 * both decoders' scores and their segmentations (frames of 10 ms, counted
 * after pocketsphinx's own silence removal). The confidence is computed by the
 * caller from these fields (src/stt/confidence.ts), so that its calibration
 * lives in one place and can be tested without audio.
 *
 * Before the utterance, stdin carries a 4-byte little-endian count of context
 * samples, then that many samples of the audio heard just before it (the wake
 * phrase, or the previous turn). The context is decoded as an utterance of its
 * own and thrown away: it only lets the live cepstral mean normalisation adapt
 * to the speaker and the channel. Without it the first utterance is decoded
 * against the model's initial mean, and numbers were misheard ("seven" as
 * "two") that the same decoder heard right once adapted.
 *
 * Exit status: 0 with a result line; 2 for bad arguments; 3 when a model or
 * grammar cannot be loaded; 4 when the input exceeds --max-seconds (a line
 * {"error":"too_long"} is printed first); 5 for a decoder failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pocketsphinx.h>
#include <sphinxbase/err.h>

#define SAMPLE_RATE 16000
/* 64 ms per block: fixed, so the result does not depend on how the writer
 * chunks its audio (live CMN updates per block). */
#define BLOCK_SAMPLES 1024
#define DEFAULT_MAX_SECONDS 30
/* Context before an utterance: at most 5 s. */
#define MAX_CONTEXT_SAMPLES (5L * SAMPLE_RATE)

struct options {
    const char *grammar;
    const char *hmm;
    const char *dict;
    const char *phone_lm;
    long max_seconds;
};

struct totals {
    long ascr;
    long lscr;
};

static int usage(void)
{
    fputs("usage: ps_decode --grammar FILE.jsgf --hmm DIR --dict FILE "
          "--phone-lm FILE [--max-seconds N]\n", stderr);
    return 2;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    o->grammar = o->hmm = o->dict = o->phone_lm = NULL;
    o->max_seconds = DEFAULT_MAX_SECONDS;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc)
            return -1;
        const char *key = argv[i], *value = argv[i + 1];
        if (strcmp(key, "--grammar") == 0)
            o->grammar = value;
        else if (strcmp(key, "--hmm") == 0)
            o->hmm = value;
        else if (strcmp(key, "--dict") == 0)
            o->dict = value;
        else if (strcmp(key, "--phone-lm") == 0)
            o->phone_lm = value;
        else if (strcmp(key, "--max-seconds") == 0) {
            char *end = NULL;
            o->max_seconds = strtol(value, &end, 10);
            if (*end != '\0' || o->max_seconds <= 0 || o->max_seconds > 3600)
                return -1;
        } else
            return -1;
    }
    return (o->grammar && o->hmm && o->dict && o->phone_lm) ? 0 : -1;
}

/* The word-exit beam is widened from its default (7e-29) to the state beam:
 * with the default, the exit into the grammar's final state was pruned in 5 of
 * 36 test utterances, and the decoder then returned no hypothesis at all. */
static ps_decoder_t *grammar_decoder(const struct options *o)
{
    cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE,
                                   "-hmm", o->hmm, "-dict", o->dict,
                                   "-jsgf", o->grammar, "-compallsen", "yes",
                                   "-wbeam", "1e-48",
                                   "-logfn", "/dev/null", NULL);
    if (config == NULL)
        return NULL;
    ps_decoder_t *ps = ps_init(config);
    cmd_ln_free_r(config);
    return ps;
}

/* The phone loop needs no dictionary. Context-independent phones keep it fast
 * (a triphone loop took 30 to 150 times longer on this model); the small
 * language weight keeps it close to the acoustically best path. */
static ps_decoder_t *phone_decoder(const struct options *o)
{
    cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE,
                                   "-hmm", o->hmm, "-allphone", o->phone_lm,
                                   "-allphone_ci", "yes", "-lw", "2.0",
                                   "-compallsen", "yes", "-logfn", "/dev/null", NULL);
    if (config == NULL)
        return NULL;
    ps_decoder_t *ps = ps_init(config);
    cmd_ln_free_r(config);
    return ps;
}

static void sum_segments(ps_decoder_t *ps, struct totals *t)
{
    memset(t, 0, sizeof *t);
    for (ps_seg_t *seg = ps_seg_iter(ps); seg != NULL; seg = ps_seg_next(seg)) {
        int32 ascr = 0, lscr = 0, lback = 0;
        ps_seg_prob(seg, &ascr, &lscr, &lback);
        t->ascr += ascr;
        t->lscr += lscr;
    }
}

/* Dictionary words are plain ASCII, but escape anyway: the output is JSON. */
static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Number of phones in a word's pronunciation, 0 when it is not in the
 * dictionary. Lets the caller judge whether a word's duration is plausible. */
static int count_phones(ps_decoder_t *ps, const char *word)
{
    char *pron = ps_lookup_word(ps, word);
    int n = 0, in_token = 0;
    if (pron == NULL)
        return 0;
    for (const char *c = pron; *c; c++) {
        int space = (*c == ' ' || *c == '\t');
        if (!space && !in_token)
            n++;
        in_token = !space;
    }
    free(pron);
    return n;
}

/* One array of {unit, startFrame, endFrame, ascr, lscr[, phones]}; frames are
 * inclusive. Phone counts are looked up only when with_phones is set. */
static void print_segments(ps_decoder_t *ps, const char *key, const char *unit,
                           int with_phones)
{
    int first = 1;
    printf(",\"%s\":[", key);
    for (ps_seg_t *seg = ps_seg_iter(ps); seg != NULL; seg = ps_seg_next(seg)) {
        int32 ascr = 0, lscr = 0, lback = 0;
        int sf = 0, ef = 0;
        ps_seg_prob(seg, &ascr, &lscr, &lback);
        ps_seg_frames(seg, &sf, &ef);
        printf("%s{\"%s\":", first ? "" : ",", unit);
        print_json_string(ps_seg_word(seg));
        printf(",\"startFrame\":%d,\"endFrame\":%d,\"ascr\":%d,\"lscr\":%d",
               sf, ef, ascr, lscr);
        if (with_phones)
            printf(",\"phones\":%d", count_phones(ps, ps_seg_word(seg)));
        putchar('}');
        first = 0;
    }
    putchar(']');
}

static void print_result(ps_decoder_t *g, ps_decoder_t *p, long samples)
{
    int32 g_path = 0, p_path = 0;
    const char *text = ps_get_hyp(g, &g_path);
    ps_get_hyp(p, &p_path);
    struct totals gt, pt;
    sum_segments(g, &gt);
    sum_segments(p, &pt);

    fputs("{\"text\":", stdout);
    print_json_string(text ? text : "");
    printf(",\"hasHypothesis\":%s,\"frames\":%d,\"samples\":%ld",
           text ? "true" : "false", ps_get_n_frames(g), samples);
    printf(",\"grammar\":{\"pathScore\":%d,\"ascr\":%ld,\"lscr\":%ld}",
           g_path, gt.ascr, gt.lscr);
    printf(",\"phoneLoop\":{\"pathScore\":%d,\"ascr\":%ld,\"lscr\":%ld}",
           p_path, pt.ascr, pt.lscr);
    printf(",\"logBase\":%.6f", logmath_get_base(ps_get_logmath(g)));
    print_segments(g, "words", "word", 1);
    print_segments(p, "phones", "phone", 0);
    puts("}");
    fflush(stdout);
}

static int feed(ps_decoder_t *g, ps_decoder_t *p, const int16 *block, size_t n)
{
    if (ps_process_raw(g, block, n, FALSE, FALSE) < 0)
        return -1;
    if (ps_process_raw(p, block, n, FALSE, FALSE) < 0)
        return -1;
    return 0;
}

/* Reads the context header and decodes the context as a throwaway utterance.
 * Returns 0, or -1 on a malformed header or a decoder failure. An empty input
 * (no header at all) is an empty context. */
static int adapt_to_context(ps_decoder_t *g, ps_decoder_t *p)
{
    unsigned char header[4];
    size_t got = fread(header, 1, sizeof header, stdin);
    if (got == 0)
        return 0;
    if (got != sizeof header)
        return -1;
    unsigned long count = header[0] | (header[1] << 8) | (header[2] << 16)
                          | ((unsigned long)header[3] << 24);
    if (count > MAX_CONTEXT_SAMPLES)
        return -1;
    if (count == 0)
        return 0;
    if (ps_start_utt(g) < 0 || ps_start_utt(p) < 0)
        return -1;
    int16 block[BLOCK_SAMPLES];
    while (count > 0) {
        size_t want = count < BLOCK_SAMPLES ? count : BLOCK_SAMPLES;
        size_t n = fread(block, sizeof block[0], want, stdin);
        if (n == 0)
            return -1;
        if (feed(g, p, block, n) != 0)
            return -1;
        count -= n;
    }
    return (ps_end_utt(g) < 0 || ps_end_utt(p) < 0) ? -1 : 0;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) != 0)
        return usage();
    err_set_logfp(NULL);

    ps_decoder_t *g = grammar_decoder(&o);
    ps_decoder_t *p = g ? phone_decoder(&o) : NULL;
    if (g == NULL || p == NULL) {
        fputs("ps_decode: cannot load the acoustic model, dictionary or grammar\n", stderr);
        return 3;
    }
    if (adapt_to_context(g, p) != 0) {
        fputs("ps_decode: malformed or oversized context before the utterance\n", stderr);
        return 5;
    }
    if (ps_start_utt(g) < 0 || ps_start_utt(p) < 0)
        return 5;

    const long max_samples = o.max_seconds * SAMPLE_RATE;
    long samples = 0;
    int16 block[BLOCK_SAMPLES];
    size_t n;
    while ((n = fread(block, sizeof block[0], BLOCK_SAMPLES, stdin)) > 0) {
        samples += (long)n;
        if (samples > max_samples) {
            puts("{\"error\":\"too_long\"}");
            fflush(stdout);
            return 4;
        }
        if (feed(g, p, block, n) != 0)
            return 5;
    }
    if (ferror(stdin)) {
        fprintf(stderr, "ps_decode: reading stdin: %s\n", strerror(errno));
        return 5;
    }
    if (ps_end_utt(g) < 0 || ps_end_utt(p) < 0)
        return 5;
    print_result(g, p, samples);
    ps_free(p);
    ps_free(g);
    return 0;
}

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
 * Before the utterance, stdin carries two 4-byte little-endian numbers: a count
 * of context samples, and how many milliseconds of the utterance's start (at
 * most 800) to adapt to as well; then the context samples, the audio heard just
 * before the utterance (the wake phrase, or the previous turn). The context,
 * with the asked start of the utterance, runs through the front end only, to
 * set the cepstral mean the decoders normalise with (no search runs): the
 * acoustic model expects batch normalisation, and decoding live from the
 * model's initial mean misheard numbers ("seven" as "two") and short answers
 * ("confirm" as nothing) that the same decoder heard right once adapted.
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
#include <sphinxbase/ckd_alloc.h>
#include <sphinxbase/cmn.h>
#include <sphinxbase/err.h>
#include <sphinxbase/fe.h>
#include <sphinxbase/feat.h>

#define SAMPLE_RATE 16000
/* 64 ms per block: fixed, so the result does not depend on how the writer
 * chunks its audio (live CMN updates per block). */
#define BLOCK_SAMPLES 1024
#define DEFAULT_MAX_SECONDS 30
/* Context before an utterance: at most 5 s. */
#define MAX_CONTEXT_SAMPLES (5L * SAMPLE_RATE)
/* At most this much of the utterance's own start may also set the cepstral mean
 * before decoding starts (the caller asks for it on answers, whose context is
 * mostly silence); decoding then begins that far into the utterance. */
#define ADAPT_HEAD_SAMPLES (SAMPLE_RATE * 8 / 10)
/* Fewer speech frames than this leave the mean as it was. */
#define MIN_ADAPT_FRAMES 20

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

/* Sets a decoder's cepstral mean to the mean over the speech frames of `audio`
 * (its front end drops silence frames). Features only: no search runs. */
static void adapt_cmn(ps_decoder_t *ps, const int16 *audio, size_t n)
{
    fe_t *fe = ps_get_fe(ps);
    feat_t *feat = ps_get_feat(ps);
    int ceplen = fe_get_output_size(fe);
    int32 capacity = (int32)(n / 160) + 8, nfr = capacity, idx = 0, tail = 0;
    mfcc_t **cep = (mfcc_t **)ckd_calloc_2d(capacity, ceplen, sizeof(mfcc_t));
    const int16 *cursor = audio;
    size_t left = n;
    fe_start_utt(fe);
    if (fe_process_frames(fe, &cursor, &left, cep, &nfr, &idx) < 0)
        nfr = 0;
    if (nfr < capacity) {
        fe_end_utt(fe, cep[nfr], &tail);
        nfr += tail;
    } else {
        fe_end_utt(fe, NULL, &tail);
    }
    if (nfr >= MIN_ADAPT_FRAMES) {
        /* As the decoder itself would at the end of an utterance: the new frames
         * join the running sums, which still carry the model's initial mean. */
        cmn_live(feat->cmn_struct, cep, 0, nfr);
        cmn_live_update(feat->cmn_struct);
    }
    ckd_free_2d((void **)cep);
}

/* Reads exactly n samples unless the input ends first; returns how many. */
static size_t read_samples(int16 *into, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t r = fread(into + got, sizeof into[0], n - got, stdin);
        if (r == 0)
            break;
        got += r;
    }
    return got;
}

/* Reads the context header, the context and the first ADAPT_HEAD_SAMPLES of the
 * utterance into `buf`, and adapts both decoders' cepstral means to them.
 * Returns the number of utterance samples read (they start at *head), or -1 on
 * a malformed header. An empty input (no header at all) is an empty context. */
static long adapt_to_context(ps_decoder_t *g, ps_decoder_t *p, int16 *buf, int16 **head)
{
    unsigned char header[8];
    size_t got = fread(header, 1, sizeof header, stdin);
    unsigned long count = 0, head_ms = 0;
    if (got != 0 && got != sizeof header)
        return -1;
    if (got == sizeof header) {
        count = header[0] | (header[1] << 8) | (header[2] << 16)
                | ((unsigned long)header[3] << 24);
        head_ms = header[4] | (header[5] << 8) | (header[6] << 16)
                  | ((unsigned long)header[7] << 24);
    }
    if (count > MAX_CONTEXT_SAMPLES || head_ms * SAMPLE_RATE / 1000 > ADAPT_HEAD_SAMPLES)
        return -1;
    if (read_samples(buf, count) != count)
        return -1;
    *head = buf + count;
    size_t utt = read_samples(*head, head_ms * SAMPLE_RATE / 1000);
    adapt_cmn(g, buf, count + utt);
    adapt_cmn(p, buf, count + utt);
    return (long)utt;
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
    static int16 adapt_buf[MAX_CONTEXT_SAMPLES + ADAPT_HEAD_SAMPLES];
    int16 *head = adapt_buf;
    long head_samples = adapt_to_context(g, p, adapt_buf, &head);
    if (head_samples < 0) {
        fputs("ps_decode: malformed or oversized context before the utterance\n", stderr);
        return 5;
    }
    if (ps_start_utt(g) < 0 || ps_start_utt(p) < 0)
        return 5;

    const long max_samples = o.max_seconds * SAMPLE_RATE;
    long samples = head_samples;
    if (head_samples > 0 && feed(g, p, head, (size_t)head_samples) != 0)
        return 5;
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

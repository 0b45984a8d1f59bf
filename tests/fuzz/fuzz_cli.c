/* fuzz_cli.c -- libFuzzer target: the command line and the set-up, as the program runs them
 * (src/run/nb_run.c): nb_cli_parse_at(), the input readers, then nb_setup_begin, _geometry,
 * _crystal and _finish.  Nothing is rendered or written.
 *
 * Input: argv words separated by blanks (space, tab, CR, LF), up to the first NUL byte; the
 * bytes after that NUL, if any, are the file "fuzzfile".  Served from memory with small valid
 * fixtures (good.hkl, good.mat, good.src, img8.img, mask8.img): e.g. "-img fuzzfile" or
 * "-hkl good.hkl".  Fdump.bin is not served (fuzz_fdump covers it).
 * Rejected command lines must fail with a known status and one non-empty message line.
 *
 * Size cap (so that huge-but-legal requests cannot exhaust libFuzzer's 2 GB or 10 s): inputs
 * are dropped, not run, when the parsed config asks for more than 16384 pixels a side, 1000 phi
 * steps or mosaic domains, 100 divergence/dispersion steps, 100 sensor layers or 100-fold
 * oversampling, or when the values set-up derives (automatic steps and layers) exceed 1000 phi
 * steps or domains, 1e5 phi x domain tables, 1e5 sources or 1000 layers; nb_memory_allows()
 * answers no above 256 MB (fuzz_common.h).  Caps are checked before the stage that loops or
 * allocates, never before a computation that could overflow, so those remain fuzzed.
 * Entry point: LLVMFuzzerTestOneInput().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/nb_cli.h"
#include "engine/nb_setup.h"
#include "fuzz_common.h"
#include "io/nb_io.h"

#define MAX_WORDS 256
#define NOW 1000000000L /* a fixed clock: the default seeds depend on it */

/* Small valid inputs the command line may name. */
static const char good_hkl[] = "0 0 0 100\n1 0 0 50\n0 1 0 40\n0 0 1 30\n-1 -1 -1 20\n";
static const char good_mat[] = "0.01 0 0\n0 0.012 0\n0 0 0.014\n";
static const char good_src[] = "-10 0 0 1 1e-10\n-10 0.01 0 1 1.01e-10\n";
static unsigned char img8[512 + 8 * 8 * 2];
static unsigned char mask8[512 + 8 * 8 * 2];

static void make_smv(unsigned char *b, size_t len, const char *keys)
{
    memset(b, ' ', 512);
    int l = snprintf((char *)b, 512, "{\nHEADER_BYTES=512;\nDIM=2;\nTYPE=unsigned_short;\n%s}\f",
                     keys);
    if (l > 0 && l < 512)
        b[l] = ' ';
    for (size_t i = 512; i < len; i += 2) {
        b[i] = (unsigned char)(i % 3 != 0); /* some zero-flagged pixels */
        b[i + 1] = 0;
    }
}

static int split_words(char *s, char **argv)
{
    int n = 0;
    argv[n++] = "nanobragg";
    for (char *t = strtok(s, " \t\r\n"); t && n < MAX_WORDS - 1; t = strtok(NULL, " \t\r\n"))
        argv[n++] = t;
    argv[n] = NULL;
    return n;
}

/* The harness's size cap on what was asked for (see file comment). */
static int config_too_large(const struct nb_config *c)
{
    return c->fpixels > 16384 || c->spixels > 16384 || c->phisteps > 1000 ||
           c->mosaic_domains > 1000 || c->hdivsteps > 100 || c->vdivsteps > 100 ||
           c->dispsteps > 100 || c->detector_thicksteps > 100 || c->oversample > 100;
}

/* ... and on what set-up derived, before nb_setup_finish lists and allocates it. */
static int scene_too_large(const struct nb_scene *sc)
{
    return sc->phisteps > 1000 || sc->mosaic_domains > 1000 ||
           (double)sc->phisteps * sc->mosaic_domains > 1e5 ||
           (double)sc->hdivsteps * sc->vdivsteps * sc->dispsteps > 1e5 || sc->n_layers > 1000;
}

struct inputs {
    struct nb_hkl_grid hkl;
    struct nb_source_list sources;
    int have_hkl;
};

/* Mirrors read_inputs() in src/run/nb_run.c (without Fdump.bin); the S(Q) table is not read. */
static nb_status read_inputs(struct nb_cli *cli, struct inputs *in, struct nb_err *err,
                             const char **failed)
{
    nb_status st;
    struct nb_config *c = &cli->cfg;
    if (cli->mat) {
        *failed = cli->mat;
        if ((st = nb_mat_read(cli->mat, c->mat, err)) != NB_OK)
            return st;
        c->have_mat = 1;
        c->mat_name = cli->mat;
    }
    if (cli->sourcefile) {
        *failed = cli->sourcefile;
        if ((st = nb_source_read(cli->sourcefile, &in->sources, err)) != NB_OK)
            return st;
        c->sources = &in->sources;
    }
    if (cli->hkl) {
        *failed = cli->hkl;
        st = nb_hkl_read(cli->hkl, cli->hkl_columns, c->default_F, &in->hkl, &nb_fuzz_sink, err);
        if (st != NB_OK)
            return st;
        in->have_hkl = 1;
    }
    *failed = NULL;
    return NB_OK;
}

static void check_scene(const struct nb_cli *cli, const struct nb_scene *sc)
{
    NB_FUZZ_CHECK(sc->fpixels >= 1 && sc->spixels >= 1, "%d x %d pixel detector", sc->fpixels,
                  sc->spixels);
    NB_FUZZ_CHECK(sc->steps >= 1 && sc->n_sources >= 1 && sc->phisteps >= 1 &&
                      sc->mosaic_domains >= 1,
                  "steps %d from %d sources, %d phi steps, %d domains", sc->steps,
                  sc->n_sources, sc->phisteps, sc->mosaic_domains);
    NB_FUZZ_CHECK(!cli->have_mask || (cli->mask_data.fpixels == sc->fpixels &&
                                      cli->mask_data.spixels == sc->spixels),
                  "a %d x %d mask on a %d x %d detector", cli->mask_data.fpixels,
                  cli->mask_data.spixels, sc->fpixels, sc->spixels);
}

/* Set-up stages in the program's order.  NB_OK also where the program would stop with its
 * usage text, and where the size cap drops the input. */
static nb_status set_up(struct nb_cli *cli, struct inputs *in, struct nb_scene *sc,
                        struct nb_err *err)
{
    struct nb_config *c = &cli->cfg;
    nb_status st = nb_setup_begin(c, sc, &nb_fuzz_sink, err);
    if (st != NB_OK)
        return st;
    /* the program prints its usage text and stops here (nb_run) */
    if ((!cli->hkl && !in->have_hkl && c->default_F == 0.0) || (!cli->mat && c->cell_a == 0.0))
        return NB_OK;
    if ((st = nb_setup_geometry(c, sc, &nb_fuzz_sink, err)) != NB_OK ||
        (st = nb_setup_crystal(c, sc, &nb_fuzz_sink, err)) != NB_OK)
        return st;
    if (scene_too_large(sc))
        return NB_OK;
    st = nb_setup_finish(c, sc, in->have_hkl ? &in->hkl : NULL, &nb_fuzz_sink, err);
    if (st == NB_OK)
        check_scene(cli, sc);
    return st;
}

static void run_one(char **argv, int argc)
{
    struct nb_cli cli;
    struct inputs in;
    struct nb_scene sc;
    struct nb_err err = {{0}};
    const char *failed = NULL;
    memset(&in, 0, sizeof in);
    memset(&sc, 0, sizeof sc);
    nb_status st = nb_cli_parse_at(argc, argv, NOW, &cli, &nb_fuzz_sink, &err);
    if (st != NB_OK) {
        nb_fuzz_check_error(st, &err, NULL);
        goto done;
    }
    if (cli.help || config_too_large(&cli.cfg))
        goto done;
    if ((st = read_inputs(&cli, &in, &err, &failed)) != NB_OK) {
        nb_fuzz_check_error(st, &err, failed);
        goto done;
    }
    if ((st = set_up(&cli, &in, &sc, &err)) != NB_OK)
        nb_fuzz_check_error(st, &err, NULL);
done:
    nb_scene_fini(&sc);
    nb_hkl_free(&in.hkl);
    nb_source_free(&in.sources);
    nb_cli_fini(&cli);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        make_smv(img8, sizeof img8, "SIZE1=8;\nSIZE2=8;\nPIXEL_SIZE=0.1;\nDISTANCE=100;\n");
        make_smv(mask8, sizeof mask8, "SIZE1=8;\nSIZE2=8;\nPIXEL_SIZE=0.1;\n");
        ready = 1;
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t cmd_len = nul ? (size_t)(nul - data) : size;
    char *text = malloc(cmd_len + 1);
    char *argv[MAX_WORDS];
    if (!text)
        return 0;
    memcpy(text, data, cmd_len);
    text[cmd_len] = '\0';
    const struct nb_fuzz_file files[] = {
        {"fuzzfile", nul ? nul + 1 : data, nul ? size - cmd_len - 1 : 0},
        {"good.hkl", (const unsigned char *)good_hkl, sizeof good_hkl - 1},
        {"good.mat", (const unsigned char *)good_mat, sizeof good_mat - 1},
        {"good.src", (const unsigned char *)good_src, sizeof good_src - 1},
        {"img8.img", img8, sizeof img8},
        {"mask8.img", mask8, sizeof mask8}};
    NB_FUZZ_CHECK(nb_fuzz_serve(files, (int)(sizeof files / sizeof files[0])) == 0,
                  "cannot serve the files");
    run_one(argv, split_words(text, argv));
    nb_fuzz_unserve();
    free(text);
    return 0;
}

/* test_help.c -- `--help` is true to the build: the lines of --hdf5 and --device say what this
 * build does (NB_HAVE_HDF5, NB_HAVE_MPI, NB_HAVE_CUDA of nb_build_config.h), and the program
 * behaves as they say: --hdf5 writes its file where HDF5 is built and fails with status 9
 * where it is not; --device=cuda without a usable device (CUDA_VISIBLE_DEVICES="", or a
 * build without CUDA) fails with one error line, status 9 and no file, --device=auto then
 * says it renders on the CPU, and the CUDA back-end on the CPU grid emulator
 * (NB_CUDA_EMULATE) writes the CPU's image byte for byte.
 *
 * Usage: test_help <path to nanobragg>.  Runs in NB_TEST_SCRATCH/help; stdout and stderr of
 * each run stay there as evidence.  POSIX only; no MPI, HDF5 or CUDA.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_build_config.h"
#include "nb_testutil.h"

#define DIR NB_TEST_SCRATCH "/help"

/* The help line that begins with `opt` (after the tab), or NULL. */
static const char *help_line(const char *help, const char *opt, char *buf, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\n\t%s", opt);
    const char *p = strstr(help, pat);
    if (!p)
        return NULL;
    p += 2;
    size_t n = strcspn(p, "\n");
    snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), p);
    return buf;
}

static int run3(const char *bin, const char *extra1, const char *extra2, const char *extra3)
{
    char *argv[] = {(char *)bin, "-cell", "10", "10", "10", "90", "90", "90", "-default_F", "1",
                    "-detpixels", "4", "-distance", "10", "-nonoise", "-nopgm", "-noprogress",
                    "-N", "3", (char *)extra1, (char *)extra2, (char *)extra3, NULL};
    return nb_test_run(DIR, argv, DIR "/stdout.txt", DIR "/stderr.txt");
}

static int run(const char *bin, const char *extra1, const char *extra2)
{
    return run3(bin, extra1, extra2, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_help <path to nanobragg>\n");
        return 2;
    }
    const char *bin = argv[1];
    CHECK(nb_test_fresh_dir(DIR) == 0, "cannot make %s", DIR);
    char *hargv[] = {(char *)bin, "--help", NULL};
    int rc = nb_test_run(DIR, hargv, DIR "/help.txt", DIR "/stderr.txt");
    CHECK(rc == 0, "--help: exit status %d", rc);
    char *help = (char *)nb_test_read_file(DIR "/help.txt", NULL);
    if (!help) {
        fprintf(stderr, "no help text\n");
        return 1;
    }
    char line[512];
    printf("build: MPI %d, HDF5 %d, CUDA %d\n", NB_HAVE_MPI, NB_HAVE_HDF5, NB_HAVE_CUDA);

    /* --hdf5 */
    if (!help_line(help, "--hdf5", line, sizeof line)) {
        CHECK(0, "no --hdf5 line in --help");
    } else {
        printf("%s\n", line);
        int says_missing = strstr(line, "not built") || strstr(line, "not in this version");
        CHECK(says_missing == !NB_HAVE_HDF5, "--hdf5 line does not match NB_HAVE_HDF5=%d",
              NB_HAVE_HDF5);
        CHECK(!strstr(line, "MPI ranks") || NB_HAVE_MPI, "--hdf5 line mentions MPI ranks");
    }
    rc = run(bin, "--hdf5", "t.h5");
    if (NB_HAVE_HDF5)
        CHECK(rc == 0 && nb_test_exists(DIR "/t.h5"), "--hdf5: exit %d, t.h5 %s", rc,
              nb_test_exists(DIR "/t.h5") ? "written" : "missing");
    else
        CHECK(rc == 9 && !nb_test_exists(DIR "/t.h5"), "--hdf5 without HDF5: exit %d", rc);

    /* --device */
    if (!help_line(help, "--device", line, sizeof line)) {
        CHECK(0, "no --device line in --help");
    } else {
        printf("%s\n", line);
        CHECK(strstr(line, "cuda") != NULL, "--device line does not offer cuda");
        CHECK((strstr(line, "no CUDA") != NULL) == !NB_HAVE_CUDA,
              "--device line does not match NB_HAVE_CUDA=%d", NB_HAVE_CUDA);
    }
    rc = run3(bin, "--device=cpu", "-floatfile", "cpu.bin");
    CHECK(rc == 0, "--device=cpu: exit %d", rc);
    /* no usable device, on any machine: the runtime sees none with CUDA_VISIBLE_DEVICES="" */
    unsetenv("NB_CUDA_EMULATE");
    setenv("CUDA_VISIBLE_DEVICES", "", 1);
    remove(DIR "/cuda.bin");
    rc = run3(bin, "--device=cuda", "-floatfile", "cuda.bin");
    char *err = (char *)nb_test_read_file(DIR "/stderr.txt", NULL);
    CHECK(rc == 9, "--device=cuda without a device: exit %d, expected 9", rc);
    CHECK(err && !strncmp(err, "error: --device=cuda: no usable CUDA device", 43) &&
              strchr(err, '\n') == err + strlen(err) - 1,
          "--device=cuda without a device: stderr is not one error line: '%s'", err ? err : "");
    CHECK(!nb_test_exists(DIR "/cuda.bin"), "--device=cuda without a device wrote its file");
    free(err);
    rc = run3(bin, "--device=auto", "-floatfile", "auto.bin");
    char *out = (char *)nb_test_read_file(DIR "/stdout.txt", NULL);
    CHECK(rc == 0 && out && strstr(out, "NOTE: --device=auto: no usable CUDA device"),
          "--device=auto without a device: exit %d, no NOTE about the CPU", rc);
    free(out);
    /* the CUDA back-end's host code and kernel body on the grid emulator: the CPU's image */
    setenv("NB_CUDA_EMULATE", "1:1:5", 1);
    rc = run3(bin, "--device=cuda", "-floatfile", "cuda.bin");
    CHECK(rc == 0, "--device=cuda on the grid emulator: exit %d", rc);
    size_t n1 = 0, n2 = 0;
    unsigned char *a = nb_test_read_file(DIR "/cpu.bin", &n1), *b = nb_test_read_file(DIR "/cuda.bin", &n2);
    CHECK(a && b && n1 == n2 && n1 == 16 * sizeof(float) && !memcmp(a, b, n1),
          "--device=cuda (emulated) and --device=cpu images differ");
    free(a);
    free(b);
    unsetenv("NB_CUDA_EMULATE");
    unsetenv("CUDA_VISIBLE_DEVICES");

    free(help);
    printf("%s\n", nb_test_failures ? "FAILED" : "passed");
    return nb_test_failures ? 1 : 0;
}

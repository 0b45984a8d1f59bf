/* main.c -- entry point of the nanobragg program; everything happens in nb_run(). */
#include "../run/nb_run.h"

int main(int argc, char **argv)
{
    return nb_run(argc, argv);
}

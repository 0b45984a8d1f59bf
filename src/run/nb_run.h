/* nb_run.h -- the nanobragg program as a function (main() only calls it). */
#ifndef NB_RUN_H
#define NB_RUN_H

/* Run nanobragg with argv; returns the process exit status (0, or 9 on any failure). */
int nb_run(int argc, char **argv);

#endif

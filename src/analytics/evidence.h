/*
 * The evidence column of the detectors (DESIGN.md, "Detector output"): a filter that
 * `flowsleuth print -t FIRST..LAST EVIDENCE` re-runs. A detector run with a filter of
 * its own puts that filter in front, so the evidence selects what the detector read.
 *
 * Ownership: evidence_filter_line returns a string the caller frees (or NULL).
 */
#ifndef FS_EVIDENCE_H
#define FS_EVIDENCE_H

/* The command's filter text on one line, without comments (-f FILE may hold both),
 * or NULL when there is none. */
char *evidence_filter_line(const char *text);

#endif

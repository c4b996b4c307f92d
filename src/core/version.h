/*
 * The release version, printed by `postel version` and reported by
 * `postel status` (the control socket).
 */
#ifndef POSTEL_VERSION_H
#define POSTEL_VERSION_H

#define POSTEL_VERSION "0.1.0"

#endif

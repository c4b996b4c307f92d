/*
 * Administration commands: postel domain|user|alias|queue ... They open the store
 * directly (SQLite in WAL mode lets them run while the server runs).
 */
#ifndef POSTEL_CLI_H
#define POSTEL_CLI_H

struct config;

/* argv[0] is the action ("add", "del", "list", "passwd"). Each returns the
 * process exit status: 0 success, 1 error (one line on stderr "postel: ..."),
 * 2 usage error. */
int cli_domain(const struct config *cfg, int argc, char **argv);
int cli_user(const struct config *cfg, int argc, char **argv);
/* user quota ADDRESS SIZE|default|unlimited ; user show ADDRESS
 * (cli_quota.c; argv[0] is "quota" or "show"). */
int cli_user_quota(const struct config *cfg, int argc, char **argv);
int cli_alias(const struct config *cfg, int argc, char **argv);
/* queue list|show|flush|hold|release|delete|bounce (cli_queue.c). */
int cli_queue(const struct config *cfg, int argc, char **argv);
/* route DOMAIN | route --host HOST (cli_route.c; argv[0] is DOMAIN or
 * --host): 0 routable, 1 not (or error), 2 usage. */
int cli_route(const struct config *cfg, int argc, char **argv);
/* dkim generate|rotate|list|remove|verify (cli_dkim.c). */
int cli_dkim(const struct config *cfg, int argc, char **argv);
/* dns DOMAIN: the records to publish (cli_dns.c). */
int cli_dns(const struct config *cfg, int argc, char **argv);
/* metadata list | get NAME | set NAME VALUE | del NAME (cli_metadata.c):
 * the server's /shared METADATA entries (RFC 5464), which only the
 * administrator sets. */
int cli_metadata(const struct config *cfg, int argc, char **argv);
/* spf check IP SENDER HELO (cli_spf.c): SPF results as the server
 * would find them; 0 when the check ran, 1 error, 2 usage. */
int cli_spf(const struct config *cfg, int argc, char **argv);
/* status | who | kick ADDRESS (cli_control.c; argv[0] is the command):
 * ask the running server over DATA_DIR/control; 1 with "the server is
 * not running" when none does. */
int cli_status(const struct config *cfg, int argc, char **argv);
int cli_who(const struct config *cfg, int argc, char **argv);
int cli_kick(const struct config *cfg, int argc, char **argv);

#endif

/* cmd-stat.c - `fdx stat`: the shared buffers alive here, who holds and maps them */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libsmartcols.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sysmacros.h>

#include "buffer.h"
#include "census.h"
#include "cli.h"
#include "fdx.h"

enum col {
	COL_ID,
	COL_TYPE,
	COL_NAME,
	COL_SIZE,
	COL_OWNER,
	COL_UID,
	COL_PERMS,
	COL_SEALS,
	COL_HOLDERS,
	COL_MAPS,
	COL_NATTCH,
	COL_CREATOR,
	COL_SESSION,
	COL_INDEX,
	COL_PLANE,
	COL_SEED,
	COL_DEV,
	COL_EXPORTER,
	COL_CPID,
	COL_LPID,
	NCOLS
};

struct column {
	const char *name;
	double whint; /* libsmartcols: < 1 a share of the terminal, else a width */
	int flags;
	const char *help;
};

static const struct column columns[NCOLS] = {
	[COL_ID] = { "ID", 6, SCOLS_FL_RIGHT,
		     "inode number of the buffer's file; shmid of a SysV segment" },
	[COL_TYPE] = { "TYPE", 6, 0, "memfd, shm, dmabuf, sysv or file" },
	[COL_NAME] = { "NAME", 0.3, SCOLS_FL_TRUNC,
		       "memfd or DMA-BUF name, path of a shm object or file, SysV key" },
	[COL_SIZE] = { "SIZE", 5, SCOLS_FL_RIGHT, "size (in bytes with --bytes)" },
	[COL_OWNER] = { "OWNER", 6, 0, "user who owns the buffer" },
	[COL_UID] = { "UID", 5, SCOLS_FL_RIGHT, "user ID of the owner" },
	[COL_PERMS] = { "PERMS", 5, 0, "permission bits, in octal" },
	[COL_SEALS] = { "SEALS", 10, 0,
			"seals of a memfd or shm object; empty where they cannot be read" },
	[COL_HOLDERS] = { "HOLDERS", 0.2, SCOLS_FL_TRUNC,
			  "processes with an fd on it: count, then PID COMMAND of each" },
	[COL_MAPS] = { "MAPS", 0.2, SCOLS_FL_TRUNC,
		       "processes that map it: count, then PID COMMAND of each" },
	[COL_NATTCH] = { "NATTCH", 3, SCOLS_FL_RIGHT,
			 "attaches the kernel counts for a SysV segment" },
	[COL_CREATOR] = { "CREATOR", 5, SCOLS_FL_RIGHT,
			  "PID of the fdx process that made it, from its name" },
	[COL_SESSION] = { "SESSION", 3, SCOLS_FL_RIGHT,
			  "fdx session it was made for, from its name" },
	[COL_INDEX] = { "INDEX", 3, SCOLS_FL_RIGHT, "fdx object index, from its name" },
	[COL_PLANE] = { "PLANE", 3, SCOLS_FL_RIGHT,
			"image plane, when each plane has a buffer of its own" },
	[COL_SEED] = { "SEED", 4, SCOLS_FL_RIGHT, "pattern seed, from its fdx name" },
	[COL_DEV] = { "DEV", 5, 0, "device of the file, MAJOR:MINOR" },
	[COL_EXPORTER] = { "EXPORTER", 8, 0, "driver that exported a DMA-BUF" },
	[COL_CPID] = { "CPID", 5, SCOLS_FL_RIGHT, "PID that created a SysV segment" },
	[COL_LPID] = { "LPID", 5, SCOLS_FL_RIGHT,
		       "PID of the last shmat or shmdt on a SysV segment" },
};

static const enum col default_cols[] = { COL_ID,      COL_TYPE,	 COL_SIZE,    COL_OWNER,
					 COL_PERMS,   COL_SEALS, COL_HOLDERS, COL_MAPS,
					 COL_CREATOR, COL_NAME };

#define MAX_COLS 64

struct stat_opts {
	pid_t *pids;
	size_t npids;
	unsigned types; /* mask of FDX_CENSUS_* */
	enum col cols[MAX_COLS];
	size_t ncols;
	int list_columns, json, raw, noheadings, bytes, summary, sockets, orphans;
};

/* A small cache of user names: a census has few owners and many buffers. */
struct owners {
	uid_t uid[16];
	char name[16][64];
	size_t n;
};

static const char *owner_name(struct owners *ow, uid_t uid)
{
	struct passwd *pw;
	size_t i;

	for (i = 0; i < ow->n; i++)
		if (ow->uid[i] == uid)
			return ow->name[i];
	i = ow->n < FDX_ARRAY_SIZE(ow->uid) ? ow->n++ : FDX_ARRAY_SIZE(ow->uid) - 1;
	ow->uid[i] = uid;
	pw = getpwuid(uid);
	if (pw)
		snprintf(ow->name[i], sizeof(ow->name[i]), "%s", pw->pw_name);
	else
		snprintf(ow->name[i], sizeof(ow->name[i]), "%u", (unsigned)uid);
	return ow->name[i];
}

/* 3110400 -> "3M", 1536 -> "1.5K", 1000 -> "1000B": one decimal at most, like lsipc. */
static const char *human_size(uint64_t v, char *buf, size_t cap)
{
	static const char units[] = "BKMGTPE";
	uint64_t div = 1, tenths;
	unsigned u = 0;

	while (u < 6 && v / div >= 1024) {
		div *= 1024;
		u++;
	}
	if (u == 0) {
		snprintf(buf, cap, "%" PRIu64 "B", v);
		return buf;
	}
	tenths = v / div * 10 + (v % div * 10 + div / 2) / div;
	if (tenths >= 10240 && u < 6) { /* 1023.96K is 1M, not 1024.0K */
		div *= 1024;
		u++;
		tenths = v / div * 10 + (v % div * 10 + div / 2) / div;
	}
	if (tenths % 10)
		snprintf(buf, cap, "%" PRIu64 ".%" PRIu64 "%c", tenths / 10, tenths % 10,
			 units[u]);
	else
		snprintf(buf, cap, "%" PRIu64 "%c", tenths / 10, units[u]);
	return buf;
}

static const char *size_text(const struct stat_opts *o, uint64_t v, char *buf, size_t cap)
{
	if (o->bytes) {
		snprintf(buf, cap, "%" PRIu64, v);
		return buf;
	}
	return human_size(v, buf, cap);
}

/* A growing string, reused from cell to cell: process lists have no fixed length. */
struct strbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

_printf_(2, 3) static void sb_add(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(sb->s ? sb->s + sb->len : NULL, sb->cap - sb->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->failed = true;
			return;
		}
		if ((size_t)n < sb->cap - sb->len) {
			sb->len += (size_t)n;
			return;
		}
		size_t ncap = (sb->cap ? sb->cap * 2 : 256) + (size_t)n;
		char *p = realloc(sb->s, ncap);

		if (!p) {
			sb->failed = true;
			return;
		}
		sb->s = p;
		sb->cap = ncap;
	}
}

static void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->s)
		sb->s[0] = '\0';
}

/*
 * JSON is written as it goes, not built as a tree first: a census of 10000 buffers
 * made some 50000 json-c objects, which cost more than the scan itself. Strings are
 * escaped as RFC 8259 asks; bytes that are not UTF-8 (a memfd name may hold any) are
 * written as \u00XX so that the output stays valid JSON.
 */
static void json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putc_unlocked('"', f);
	while (*p) {
		unsigned char ch = *p;
		size_t n = ch < 0x80		 ? 1
			   : (ch & 0xe0) == 0xc0 ? 2
			   : (ch & 0xf0) == 0xe0 ? 3
			   : (ch & 0xf8) == 0xf0 ? 4
						 : 0;
		size_t k;

		if (ch == '"' || ch == '\\') {
			putc_unlocked('\\', f);
			putc_unlocked((int)ch, f);
			p++;
			continue;
		}
		if (ch < 0x20 || ch == 0x7f) {
			fprintf(f, "\\u%04x", ch);
			p++;
			continue;
		}
		for (k = 1; k < n && (p[k] & 0xc0) == 0x80; k++)
			;
		/* overlong two-byte forms (0xc0, 0xc1) are no UTF-8 either */
		if (n == 0 || k < n || ch == 0xc0 || ch == 0xc1 || ch > 0xf4) {
			fprintf(f, "\\u%04x", ch);
			p++;
			continue;
		}
		fwrite(p, 1, n, f);
		p += n;
	}
	putc_unlocked('"', f);
}

/* "name": [ then items, one a line; an empty array stays on one line */
static void json_array_begin(FILE *f, const char *name)
{
	fprintf(f, "  \"%s\": [", name);
}

static void json_item(FILE *f, size_t i)
{
	fputs(i ? ",\n    {" : "\n    {", f);
}

static void json_array_end(FILE *f, size_t n)
{
	fputs(n ? "\n  ],\n" : "],\n", f);
}

static void json_proc(FILE *f, pid_t pid, const char *comm)
{
	fprintf(f, "{\"pid\": %d, \"comm\": ", (int)pid);
	json_str(f, comm);
	putc_unlocked('}', f);
}

/* The members every document ends with; c is NULL when nothing was scanned. */
static void json_end(FILE *f, const struct fdx_census *c, int rc)
{
	if (c)
		fprintf(f,
			"  \"scanned\": %u,\n  \"skipped\": {\"denied\": %u, \"vanished\": "
			"%u},\n",
			c->scanned, c->denied, c->vanished);
	fprintf(f, "  \"exit\": %d\n}\n", rc);
}

/* What a cell holds, before it is shown as text or JSON. */
enum vkind {
	V_NULL,	   /* unknown or does not apply: empty, or null */
	V_U64,	   /* a number */
	V_I64,	   /* a number that may be negative */
	V_STR,	   /* a string */
	V_SIZE,	   /* bytes: human-readable unless --bytes; a number in JSON */
	V_OCTAL,   /* permission bits: "0600" in both */
	V_HEX,	   /* "0x1234" as text, a number in JSON */
	V_DEV,	   /* "MAJOR:MINOR" in both */
	V_SEALS,   /* "shrink,grow" as text, ["shrink", "grow"] in JSON */
	V_HOLDERS, /* "2: 4711 fdx,4712 fdx" as text, [{pid, comm, fds}] in JSON */
	V_MAPS,	   /* the same without fds */
};

struct value {
	enum vkind kind;
	uint64_t u;
	int64_t i;
	const char *s;
};

static struct value cell(const struct fdx_census_buffer *b, enum col col, struct owners *ow)
{
	const struct fdx_provenance *p = &b->prov;
	bool prov = b->has_provenance, sysv = b->type == FDX_CENSUS_SYSV;

	switch (col) {
	case COL_ID:
		return (struct value){ V_U64, .u = b->id };
	case COL_TYPE:
		return (struct value){ V_STR, .s = fdx_census_type_name(b->type) };
	case COL_NAME:
		return b->name ? (struct value){ V_STR, .s = b->name }
			       : (struct value){ V_NULL };
	case COL_SIZE:
		return b->has_size ? (struct value){ V_SIZE, .u = b->size }
				   : (struct value){ V_NULL };
	case COL_OWNER:
		return b->has_owner ? (struct value){ V_STR, .s = owner_name(ow, b->uid) }
				    : (struct value){ V_NULL };
	case COL_UID:
		return b->has_owner ? (struct value){ V_U64, .u = b->uid }
				    : (struct value){ V_NULL };
	case COL_PERMS:
		return b->has_owner ? (struct value){ V_OCTAL, .u = b->mode }
				    : (struct value){ V_NULL };
	case COL_SEALS:
		return b->seals >= 0 ? (struct value){ V_SEALS, .u = (unsigned)b->seals }
				     : (struct value){ V_NULL };
	case COL_HOLDERS:
		return (struct value){ V_HOLDERS };
	case COL_MAPS:
		return (struct value){ V_MAPS };
	case COL_NATTCH:
		return b->nattch >= 0 ? (struct value){ V_I64, .i = b->nattch }
				      : (struct value){ V_NULL };
	case COL_CREATOR:
		return prov ? (struct value){ V_U64, .u = p->pid }
			    : (struct value){ V_NULL };
	case COL_SESSION:
		return prov ? (struct value){ V_U64, .u = p->session }
			    : (struct value){ V_NULL };
	case COL_INDEX:
		return prov ? (struct value){ V_U64, .u = p->index }
			    : (struct value){ V_NULL };
	case COL_PLANE:
		return prov && p->plane >= 0
			       ? (struct value){ V_U64, .u = (uint64_t)p->plane }
			       : (struct value){ V_NULL };
	case COL_SEED:
		return prov && p->has_seed ? (struct value){ V_HEX, .u = p->seed }
					   : (struct value){ V_NULL };
	case COL_DEV:
		return sysv ? (struct value){ V_NULL }
			    : (struct value){ V_DEV, .u = b->dev };
	case COL_EXPORTER:
		return b->exporter ? (struct value){ V_STR, .s = b->exporter }
				   : (struct value){ V_NULL };
	case COL_CPID:
		return sysv ? (struct value){ V_I64, .i = b->cpid }
			    : (struct value){ V_NULL };
	case COL_LPID:
		return sysv ? (struct value){ V_I64, .i = b->lpid }
			    : (struct value){ V_NULL };
	case NCOLS:
		break;
	}
	return (struct value){ V_NULL };
}

/* "2: 4711 fdx,4712 fdx", or "0" */
static void procs_text(struct strbuf *sb, const struct fdx_census *c,
		       const struct fdx_census_buffer *b, bool holders)
{
	size_t n = holders ? b->nholders : b->nmappers;

	sb_add(sb, "%zu", n);
	for (size_t i = 0; i < n; i++) {
		const struct fdx_census_proc *p =
			&c->procs[holders ? b->holders[i].proc : b->mappers[i]];

		sb_add(sb, "%s%d %s", i ? "," : ": ", (int)p->pid, p->comm);
	}
}

/* The text of v, in sb (reset first); NULL when out of memory. */
static const char *value_text(struct strbuf *sb, const struct value *v,
			      const struct fdx_census *c, const struct fdx_census_buffer *b,
			      const struct stat_opts *o)
{
	char buf[96];

	sb_reset(sb);
	switch (v->kind) {
	case V_NULL:
		sb_add(sb, "%s", "");
		break;
	case V_U64:
		sb_add(sb, "%" PRIu64, v->u);
		break;
	case V_I64:
		sb_add(sb, "%" PRId64, v->i);
		break;
	case V_STR:
		sb_add(sb, "%s", v->s);
		break;
	case V_SIZE:
		sb_add(sb, "%s", size_text(o, v->u, buf, sizeof(buf)));
		break;
	case V_OCTAL:
		sb_add(sb, "%04" PRIo64, v->u);
		break;
	case V_HEX:
		sb_add(sb, "0x%" PRIx64, v->u);
		break;
	case V_DEV:
		sb_add(sb, "%u:%u", major((dev_t)v->u), minor((dev_t)v->u));
		break;
	case V_SEALS:
		sb_add(sb, "%s", fdx_seals_str((unsigned)v->u, buf, sizeof(buf)));
		break;
	case V_HOLDERS:
	case V_MAPS:
		procs_text(sb, c, b, v->kind == V_HOLDERS);
		break;
	}
	return sb->failed ? NULL : sb->s;
}

static void value_json(FILE *f, const struct value *v, const struct fdx_census *c,
		       const struct fdx_census_buffer *b)
{
	char buf[96], *save = NULL;
	const char *sep = "";

	switch (v->kind) {
	case V_NULL:
		fputs("null", f);
		break;
	case V_U64:
	case V_SIZE:
	case V_HEX:
		fprintf(f, "%" PRIu64, v->u);
		break;
	case V_I64:
		fprintf(f, "%" PRId64, v->i);
		break;
	case V_STR:
		json_str(f, v->s);
		break;
	case V_OCTAL:
		fprintf(f, "\"%04" PRIo64 "\"", v->u);
		break;
	case V_DEV:
		fprintf(f, "\"%u:%u\"", major((dev_t)v->u), minor((dev_t)v->u));
		break;
	case V_SEALS:
		putc_unlocked('[', f);
		fdx_seals_str((unsigned)v->u, buf, sizeof(buf));
		for (char *t = strtok_r(buf, ",", &save); t;
		     t = strtok_r(NULL, ",", &save)) {
			if (strcmp(t, "none") == 0)
				continue;
			fprintf(f, "%s\"%s\"", sep, t);
			sep = ", ";
		}
		putc_unlocked(']', f);
		break;
	case V_HOLDERS:
		putc_unlocked('[', f);
		for (size_t i = 0; i < b->nholders; i++) {
			const struct fdx_census_holder *h = &b->holders[i];
			const struct fdx_census_proc *p = &c->procs[h->proc];

			fprintf(f, "%s{\"pid\": %d, \"comm\": ", i ? ", " : "",
				(int)p->pid);
			json_str(f, p->comm);
			fputs(", \"fds\": [", f);
			for (size_t k = 0; k < h->nfds; k++)
				fprintf(f, "%s%d", k ? ", " : "", h->fds[k]);
			fputs("]}", f);
		}
		putc_unlocked(']', f);
		break;
	case V_MAPS:
		putc_unlocked('[', f);
		for (size_t i = 0; i < b->nmappers; i++) {
			const struct fdx_census_proc *p = &c->procs[b->mappers[i]];

			if (i)
				fputs(", ", f);
			json_proc(f, p->pid, p->comm);
		}
		putc_unlocked(']', f);
		break;
	}
}

static bool selected(const struct fdx_census *c, const struct fdx_census_buffer *b,
		     const struct stat_opts *o)
{
	if (!(b->type & o->types))
		return false;
	if (!o->npids)
		return true;
	for (size_t i = 0; i < o->npids; i++)
		if (fdx_census_involves(c, b, o->pids[i]))
			return true;
	return false;
}

/* Columns of a table: name, width hint (below 1: a share of the terminal), flags. */
struct table_col {
	const char *name;
	double whint;
	int flags;
};

static struct libscols_table *new_table(const struct stat_opts *o,
					const struct table_col *cols, size_t n)
{
	struct libscols_table *tb = scols_new_table();

	if (!tb)
		return NULL;
	scols_table_enable_raw(tb, o->raw);
	scols_table_enable_noheadings(tb, o->noheadings);
	for (size_t i = 0; i < n; i++)
		if (!scols_table_new_column(tb, cols[i].name, cols[i].whint,
					    cols[i].flags)) {
			scols_unref_table(tb);
			return NULL;
		}
	return tb;
}

/* One line of n cells; false when out of memory. */
static bool add_line(struct libscols_table *tb, const char *const *cells, size_t n)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);

	if (!ln)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!cells[i] || scols_line_set_data(ln, i, cells[i]) < 0)
			return false;
	return true;
}

/* Print and drop tb; a write error is left for cli_close_stdout() to report. */
static int print_table(struct libscols_table *tb)
{
	int r = scols_print_table(tb);

	scols_unref_table(tb);
	if (r < 0 && !ferror(stdout)) {
		cli_err("cannot print the table: %s", strerror(-r));
		return FDX_EXIT_SYSTEM;
	}
	return FDX_EXIT_OK;
}

static int oom(void)
{
	cli_err("out of memory");
	return FDX_EXIT_SYSTEM;
}

/* "ID" -> "id": JSON members are the column names in lowercase. */
static const char *json_key(enum col col, char *buf, size_t cap)
{
	size_t i;

	for (i = 0; columns[col].name[i] && i + 1 < cap; i++)
		buf[i] = (char)tolower((unsigned char)columns[col].name[i]);
	buf[i] = '\0';
	return buf;
}

static int buffers_json(const struct fdx_census *c, const struct stat_opts *o)
{
	struct owners ow = { 0 };
	size_t n = 0;
	char key[32];

	json_array_begin(stdout, "buffers");
	for (size_t i = 0; i < c->nbuffers; i++) {
		const struct fdx_census_buffer *b = &c->buffers[i];

		if (!selected(c, b, o))
			continue;
		json_item(stdout, n++);
		for (size_t k = 0; k < o->ncols; k++) {
			struct value v = cell(b, o->cols[k], &ow);

			fprintf(stdout, "%s\"%s\": ", k ? ", " : "",
				json_key(o->cols[k], key, sizeof(key)));
			value_json(stdout, &v, c, b);
		}
		putc_unlocked('}', stdout);
	}
	json_array_end(stdout, n);
	return FDX_EXIT_OK;
}

static int buffers_table(const struct fdx_census *c, const struct stat_opts *o)
{
	struct table_col cols[MAX_COLS];
	struct libscols_table *tb;
	struct owners ow = { 0 };
	struct strbuf sb = { 0 };
	int rc = FDX_EXIT_OK;

	for (size_t k = 0; k < o->ncols; k++)
		cols[k] = (struct table_col){ columns[o->cols[k]].name,
					      columns[o->cols[k]].whint,
					      columns[o->cols[k]].flags };
	tb = new_table(o, cols, o->ncols);
	if (!tb)
		return oom();
	for (size_t i = 0; i < c->nbuffers && rc == FDX_EXIT_OK; i++) {
		const struct fdx_census_buffer *b = &c->buffers[i];
		struct libscols_line *ln;

		if (!selected(c, b, o))
			continue;
		ln = scols_table_new_line(tb, NULL);
		if (!ln)
			rc = oom();
		for (size_t k = 0; ln && k < o->ncols; k++) {
			struct value v = cell(b, o->cols[k], &ow);
			const char *t = value_text(&sb, &v, c, b, o);

			if (!t || scols_line_set_data(ln, k, t) < 0) {
				rc = oom();
				break;
			}
		}
	}
	free(sb.s);
	if (rc != FDX_EXIT_OK) {
		scols_unref_table(tb);
		return rc;
	}
	return print_table(tb);
}

static const char *const summary_types[] = { "memfd", "shm", "dmabuf", "sysv", "file" };
#define NTYPES FDX_ARRAY_SIZE(summary_types)

struct proc_sum {
	uint64_t held, mapped, bytes;
	size_t last; /* the buffer whose bytes were added last, +1 */
};

static void count_bytes(struct proc_sum *ps, size_t buf, uint64_t size)
{
	/* a process that holds and maps a buffer has its bytes once */
	if (ps->last == buf + 1)
		return;
	ps->last = buf + 1;
	ps->bytes += size;
}

/* Totals per type and per process, over the buffers the filters select (like ipcs -u). */
static int print_summary(const struct fdx_census *c, const struct stat_opts *o)
{
	static const struct table_col tcols[] = { { "TYPE", 6, 0 },
						  { "BUFFERS", 5, SCOLS_FL_RIGHT },
						  { "SIZE", 6, SCOLS_FL_RIGHT } };
	static const struct table_col pcols[] = {
		{ "PID", 6, SCOLS_FL_RIGHT },  { "COMMAND", 10, 0 },
		{ "HELD", 4, SCOLS_FL_RIGHT }, { "MAPPED", 4, SCOLS_FL_RIGHT },
		{ "SIZE", 6, SCOLS_FL_RIGHT },
	};
	uint64_t count[NTYPES + 1] = { 0 }, bytes[NTYPES + 1] = { 0 };
	struct proc_sum *per = calloc(c->nprocs + 1, sizeof(*per));
	struct libscols_table *tt = NULL, *pt = NULL;
	size_t n = 0;
	int rc = FDX_EXIT_OK;

	if (!per)
		return oom();
	for (size_t i = 0; i < c->nbuffers; i++) {
		const struct fdx_census_buffer *b = &c->buffers[i];
		uint64_t size = b->has_size ? b->size : 0;
		size_t t = 0;

		if (!selected(c, b, o))
			continue;
		while (t + 1 < NTYPES && !(b->type & (1u << t)))
			t++;
		count[t]++;
		bytes[t] += size;
		count[NTYPES]++;
		bytes[NTYPES] += size;
		for (size_t h = 0; h < b->nholders; h++) {
			per[b->holders[h].proc].held++;
			count_bytes(&per[b->holders[h].proc], i, size);
		}
		for (size_t m = 0; m < b->nmappers; m++) {
			per[b->mappers[m]].mapped++;
			count_bytes(&per[b->mappers[m]], i, size);
		}
	}
	if (o->json) {
		json_array_begin(stdout, "types");
		for (size_t t = 0; t < NTYPES; t++) {
			json_item(stdout, t);
			fprintf(stdout,
				"\"type\": \"%s\", \"buffers\": %" PRIu64
				", \"size\": %" PRIu64 "}",
				summary_types[t], count[t], bytes[t]);
		}
		json_array_end(stdout, NTYPES);
		fprintf(stdout,
			"  \"total\": {\"buffers\": %" PRIu64 ", \"size\": %" PRIu64 "},\n",
			count[NTYPES], bytes[NTYPES]);
		json_array_begin(stdout, "processes");
		for (size_t i = 0; i < c->nprocs; i++) {
			if (!per[i].held && !per[i].mapped)
				continue;
			json_item(stdout, n++);
			fprintf(stdout, "\"pid\": %d, \"comm\": ", (int)c->procs[i].pid);
			json_str(stdout, c->procs[i].comm);
			fprintf(stdout,
				", \"held\": %" PRIu64 ", \"mapped\": %" PRIu64
				", \"size\": %" PRIu64 "}",
				per[i].held, per[i].mapped, per[i].bytes);
		}
		json_array_end(stdout, n);
		free(per);
		return FDX_EXIT_OK;
	}
	tt = new_table(o, tcols, FDX_ARRAY_SIZE(tcols));
	pt = new_table(o, pcols, FDX_ARRAY_SIZE(pcols));
	if (!tt || !pt)
		rc = oom();
	for (size_t t = 0; rc == FDX_EXIT_OK && t <= NTYPES; t++) {
		char num[24], size[32];
		const char *cells[] = { t < NTYPES ? summary_types[t] : "total", num,
					size_text(o, bytes[t], size, sizeof(size)) };

		snprintf(num, sizeof(num), "%" PRIu64, count[t]);
		if (!add_line(tt, cells, FDX_ARRAY_SIZE(cells)))
			rc = oom();
	}
	/* procs are in the order the scan met them, which is by pid for a whole scan */
	for (size_t i = 0; rc == FDX_EXIT_OK && i < c->nprocs; i++) {
		char pid[16], held[24], mapped[24], size[32];
		const char *cells[] = { pid, c->procs[i].comm, held, mapped,
					size_text(o, per[i].bytes, size, sizeof(size)) };

		if (!per[i].held && !per[i].mapped)
			continue;
		snprintf(pid, sizeof(pid), "%d", (int)c->procs[i].pid);
		snprintf(held, sizeof(held), "%" PRIu64, per[i].held);
		snprintf(mapped, sizeof(mapped), "%" PRIu64, per[i].mapped);
		if (!add_line(pt, cells, FDX_ARRAY_SIZE(cells)))
			rc = oom();
	}
	free(per);
	if (rc != FDX_EXIT_OK) {
		scols_unref_table(tt);
		scols_unref_table(pt);
		return rc;
	}
	rc = print_table(tt);
	putchar('\n');
	if (rc == FDX_EXIT_OK)
		return print_table(pt);
	scols_unref_table(pt);
	return rc;
}

static int print_sockets(const struct fdx_census *c, const struct stat_opts *o)
{
	static const struct table_col cols[] = { { "PATH", 0.4, 0 },
						 { "LISTENERS", 0.2, SCOLS_FL_TRUNC },
						 { "CONNECTIONS", 3, SCOLS_FL_RIGHT },
						 { "PEERS", 0.3, SCOLS_FL_TRUNC } };
	struct libscols_table *tb = NULL;
	struct strbuf ls = { 0 }, ps = { 0 };
	int rc = FDX_EXIT_OK;

	if (o->json)
		json_array_begin(stdout, "sockets");
	else if (!(tb = new_table(o, cols, FDX_ARRAY_SIZE(cols))))
		return oom();
	for (size_t i = 0; i < c->nendpoints && rc == FDX_EXIT_OK; i++) {
		const struct fdx_census_endpoint *ep = &c->endpoints[i];
		char conns[24];

		if (o->json) {
			json_item(stdout, i);
			fputs("\"path\": ", stdout);
			json_str(stdout, ep->path);
			fprintf(stdout,
				", \"inode\": %" PRIu64 ", \"lock\": %s, \"listeners\": [",
				ep->inode, ep->has_lock ? "true" : "false");
			for (size_t k = 0; k < ep->nlisteners; k++) {
				const struct fdx_census_proc *p =
					&c->procs[ep->listeners[k]];

				fputs(k ? ", " : "", stdout);
				json_proc(stdout, p->pid, p->comm);
			}
			fprintf(stdout, "], \"connections\": %zu, \"peers\": [",
				ep->connections);
			for (size_t k = 0; k < ep->npeers; k++) {
				fputs(k ? ", " : "", stdout);
				json_proc(stdout, ep->peers[k].pid, ep->peers[k].comm);
			}
			fputs("]}", stdout);
			continue;
		}
		sb_reset(&ls);
		sb_reset(&ps);
		sb_add(&ls, "%s", "");
		sb_add(&ps, "%s", "");
		for (size_t k = 0; k < ep->nlisteners; k++)
			sb_add(&ls, "%s%d %s", k ? "," : "",
			       (int)c->procs[ep->listeners[k]].pid,
			       c->procs[ep->listeners[k]].comm);
		for (size_t k = 0; k < ep->npeers; k++)
			sb_add(&ps, "%s%d %s", k ? "," : "", (int)ep->peers[k].pid,
			       ep->peers[k].comm);
		snprintf(conns, sizeof(conns), "%zu", ep->connections);
		const char *cells[] = { ep->path, ls.failed ? NULL : ls.s, conns,
					ps.failed ? NULL : ps.s };

		if (!add_line(tb, cells, FDX_ARRAY_SIZE(cells)))
			rc = oom();
	}
	free(ls.s);
	free(ps.s);
	if (o->json) {
		json_array_end(stdout, c->nendpoints);
		return FDX_EXIT_OK;
	}
	if (rc != FDX_EXIT_OK) {
		scols_unref_table(tb);
		return rc;
	}
	return print_table(tb);
}

static int print_orphans(const struct fdx_census *c, const struct stat_opts *o)
{
	static const struct table_col cols[] = {
		{ "TYPE", 6, 0 },   { "ID", 6, SCOLS_FL_RIGHT },
		{ "NAME", 0.5, 0 }, { "SIZE", 5, SCOLS_FL_RIGHT },
		{ "OWNER", 6, 0 },  { "PERMS", 5, 0 },
	};
	struct libscols_table *tb = NULL;
	struct owners ow = { 0 };
	int rc = FDX_EXIT_OK;

	if (o->json)
		json_array_begin(stdout, "orphans");
	else if (!(tb = new_table(o, cols, FDX_ARRAY_SIZE(cols))))
		return oom();
	for (size_t i = 0; i < c->norphans && rc == FDX_EXIT_OK; i++) {
		const struct fdx_census_orphan * or = &c->orphans[i];
		const char *type = fdx_census_type_name(or->type);
		char id[24], size[32], perms[16];

		snprintf(perms, sizeof(perms), "%04o", (unsigned) or->mode);
		if (o->json) {
			json_item(stdout, i);
			fprintf(stdout,
				"\"type\": \"%s\", \"id\": %" PRIu64 ", \"name\": ", type,
				or->id);
			json_str(stdout, or->name);
			if (or->has_size)
				fprintf(stdout, ", \"size\": %" PRIu64, or->size);
			else
				fputs(", \"size\": null", stdout);
			fputs(", \"owner\": ", stdout);
			json_str(stdout, owner_name(&ow, or->uid));
			fprintf(stdout, ", \"uid\": %u, \"perms\": \"%s\"}",
				(unsigned) or->uid, perms);
			continue;
		}
		snprintf(id, sizeof(id), "%" PRIu64, or->id);
		const char *cells[] = { type,
					id,
					or->name,
					or->has_size
						? size_text(o, or->size, size, sizeof(size))
						: "",
					owner_name(&ow, or->uid),
					perms };

		if (!add_line(tb, cells, FDX_ARRAY_SIZE(cells)))
			rc = oom();
	}
	if (o->json) {
		json_array_end(stdout, c->norphans);
		return FDX_EXIT_OK;
	}
	if (rc != FDX_EXIT_OK) {
		scols_unref_table(tb);
		return rc;
	}
	return print_table(tb);
}

static bool is_default(enum col col)
{
	for (size_t i = 0; i < FDX_ARRAY_SIZE(default_cols); i++)
		if (default_cols[i] == col)
			return true;
	return false;
}

static int list_columns(const struct stat_opts *o)
{
	static const struct table_col cols[] = { { "NAME", 8, 0 },
						 { "DEFAULT", 3, 0 },
						 { "DESCRIPTION", 0.7, 0 } };
	struct libscols_table *tb;

	if (o->json) {
		fputs("{\n", stdout);
		json_array_begin(stdout, "columns");
		for (size_t i = 0; i < NCOLS; i++) {
			json_item(stdout, i);
			fprintf(stdout,
				"\"name\": \"%s\", \"default\": %s, \"description\": ",
				columns[i].name,
				is_default((enum col)i) ? "true" : "false");
			json_str(stdout, columns[i].help);
			putc_unlocked('}', stdout);
		}
		json_array_end(stdout, NCOLS);
		json_end(stdout, NULL, FDX_EXIT_OK);
		return FDX_EXIT_OK;
	}
	tb = new_table(o, cols, FDX_ARRAY_SIZE(cols));
	if (!tb)
		return oom();
	for (size_t i = 0; i < NCOLS; i++) {
		const char *cells[] = { columns[i].name,
					is_default((enum col)i) ? "yes" : "no",
					columns[i].help };

		if (!add_line(tb, cells, FDX_ARRAY_SIZE(cells))) {
			scols_unref_table(tb);
			return oom();
		}
	}
	return print_table(tb);
}

_printf_(1, 2) static int usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_err("%s\nTry '%s --help' for more information.", msg, cli_prog);
	return FDX_EXIT_USAGE;
}

/* Split s at commas; call fn on each item (empty ones too, so that they are refused). */
static int each_item(const char *s, int (*fn)(const char *item, struct stat_opts *o),
		     struct stat_opts *o)
{
	char *copy = strdup(s), *p, *comma;
	int rc = -1;

	if (!copy)
		return oom();
	for (p = copy;; p = comma + 1) {
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		rc = fn(p, o);
		if (rc >= 0 || !comma)
			break;
	}
	free(copy);
	return rc;
}

static int parse_pid(const char *s, struct stat_opts *o)
{
	char *end;
	long v;
	pid_t *n;

	errno = 0;
	v = *s >= '0' && *s <= '9' ? strtol(s, &end, 10) : 0;
	if (v <= 0 || *end || errno || v > INT32_MAX)
		return usage_error("--pid: '%s' is not a process ID", s);
	n = realloc(o->pids, (o->npids + 1) * sizeof(*n));
	if (!n)
		return oom();
	o->pids = n;
	o->pids[o->npids++] = (pid_t)v;
	return -1;
}

static int parse_type(const char *s, struct stat_opts *o)
{
	int t = fdx_census_type_parse(s);

	if (t < 0)
		return usage_error(
			"--type: unknown type '%s' (known: memfd, shm, dmabuf, sysv, file)",
			s);
	o->types |= (unsigned)t;
	return -1;
}

static int parse_column(const char *s, struct stat_opts *o)
{
	for (size_t i = 0; i < NCOLS; i++) {
		if (strcasecmp(s, columns[i].name) != 0)
			continue;
		if (o->ncols == MAX_COLS)
			return usage_error("--output: more than %d columns", MAX_COLS);
		o->cols[o->ncols++] = (enum col)i;
		return -1;
	}
	return usage_error("--output: unknown column '%s' (see --list-columns)", s);
}

static int check_options(struct stat_opts *o, const char *pid_s, const char *type_s,
			 const char *output_s)
{
	int modes = !!o->summary + !!o->sockets + !!o->orphans + !!o->list_columns;
	int rc;

	if (modes > 1) {
		cli_err("--list-columns, --summary, --sockets and --orphans exclude each other"
			"\nTry '%s --help' for more information.",
			cli_prog);
		return FDX_EXIT_USAGE;
	}
	if (o->json && (o->raw || o->noheadings)) {
		cli_err("--json excludes --raw and --noheadings\nTry '%s --help' for more "
			"information.",
			cli_prog);
		return FDX_EXIT_USAGE;
	}
	if ((o->sockets || o->orphans || o->list_columns) && (pid_s || type_s)) {
		cli_err("--%s takes no --pid or --type\nTry '%s --help' for more information.",
			o->sockets   ? "sockets"
			: o->orphans ? "orphans"
				     : "list-columns",
			cli_prog);
		return FDX_EXIT_USAGE;
	}
	if (output_s && modes) {
		cli_err("--output is for the list of buffers only\nTry '%s --help' for more "
			"information.",
			cli_prog);
		return FDX_EXIT_USAGE;
	}
	if (pid_s && (rc = each_item(pid_s, parse_pid, o)) >= 0)
		return rc;
	if (type_s && (rc = each_item(type_s, parse_type, o)) >= 0)
		return rc;
	if (!type_s)
		o->types = FDX_CENSUS_BUFFER_TYPES;
	if (!output_s || output_s[0] == '+') {
		for (size_t i = 0; i < FDX_ARRAY_SIZE(default_cols); i++)
			o->cols[o->ncols++] = default_cols[i];
	}
	if (output_s &&
	    (rc = each_item(output_s + (output_s[0] == '+'), parse_column, o)) >= 0)
		return rc;
	return -1;
}

static void report_skipped(const struct fdx_census *c)
{
	char denied[48] = "", vanished[32] = "";
	unsigned n = c->denied + c->vanished;

	if (!n)
		return;
	if (c->denied)
		snprintf(denied, sizeof(denied), "%u permission denied", c->denied);
	if (c->vanished)
		snprintf(vanished, sizeof(vanished), "%u vanished", c->vanished);
	/* not cli_err: its flush of stdout would take a write error's cause with it,
	 * and cli_close_stdout() must be the one to report that */
	fprintf(stderr, "%s: %u process%s skipped: %s%s%s\n", cli_prog, n,
		n == 1 ? "" : "es", denied, c->denied && c->vanished ? ", " : "", vanished);
}

static int stat_main(struct stat_opts *o)
{
	const char *dirs[2] = { NULL, NULL };
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct fdx_census_opts co = { .socket_dirs = dirs };
	struct fdx_census c = { 0 };
	int rc, r;

	if (xdg && xdg[0] == '/')
		dirs[0] = xdg;
	if (o->sockets)
		co.flags = FDX_CENSUS_SOCKETS;
	else if (o->orphans)
		co.flags = FDX_CENSUS_ORPHANS;
	else
		co.flags = FDX_CENSUS_BUFFERS | FDX_CENSUS_SEALS | FDX_CENSUS_SYSTEM;
	r = fdx_census_scan(&co, &c);
	if (r < 0) {
		if (c.failed[0])
			cli_err("cannot read '%s': %s", c.failed, strerror(-r));
		else
			cli_err("cannot take the census: %s", strerror(-r));
		fdx_census_clear(&c);
		return FDX_EXIT_SYSTEM;
	}
	/* one writer, one thread: take the lock of stdout once, not per character */
	flockfile(stdout);
	if (o->json)
		fputs("{\n", stdout);
	if (o->summary)
		rc = print_summary(&c, o);
	else if (o->sockets)
		rc = print_sockets(&c, o);
	else if (o->orphans)
		rc = print_orphans(&c, o);
	else if (o->json)
		rc = buffers_json(&c, o);
	else
		rc = buffers_table(&c, o);
	if (o->json)
		json_end(stdout, &c, rc);
	funlockfile(stdout);
	if (!o->json)
		report_skipped(&c);
	fdx_census_clear(&c);
	return rc;
}

static int stat_run(int argc, const char **argv)
{
	const char *pid_s = NULL, *type_s = NULL, *output_s = NULL;
	struct stat_opts o = { 0 };
	struct poptOption options[] = {
		{ "pid", 'p', POPT_ARG_STRING, &pid_s, 0,
		  "only buffers these processes hold or map", "PID[,PID...]" },
		{ "type", 't', POPT_ARG_STRING, &type_s, 0,
		  "only buffers of these types: memfd, shm, dmabuf, sysv, file",
		  "TYPE[,TYPE...]" },
		{ "output", 'o', POPT_ARG_STRING, &output_s, 0,
		  "columns to show; +COLUMNS adds to the default ones", "COLUMNS" },
		{ "list-columns", '\0', POPT_ARG_NONE, &o.list_columns, 0,
		  "list the columns and exit", NULL },
		{ "json", 'J', POPT_ARG_NONE, &o.json, 0, "print JSON", NULL },
		{ "raw", 'r', POPT_ARG_NONE, &o.raw, 0,
		  "raw table: fields separated by a space", NULL },
		{ "noheadings", 'n', POPT_ARG_NONE, &o.noheadings, 0, "print no headings",
		  NULL },
		{ "bytes", 'b', POPT_ARG_NONE, &o.bytes, 0,
		  "sizes in bytes, not human-readable", NULL },
		{ "summary", '\0', POPT_ARG_NONE, &o.summary, 0,
		  "totals per type and per process", NULL },
		{ "sockets", '\0', POPT_ARG_NONE, &o.sockets, 0,
		  "fdx endpoints: path, listening processes, connections, peers", NULL },
		{ "orphans", '\0', POPT_ARG_NONE, &o.orphans, 0,
		  "shm objects, SysV segments and fdx socket files nothing uses", NULL },
		CLI_HELP_TABLE,
		POPT_TABLEEND
	};
	poptContext pc = poptGetContext(cli_prog, argc, argv, options, 0);
	int rc = cli_parse(pc, "[OPTIONS]");

	if (rc < 0)
		rc = check_options(&o, pid_s, type_s, output_s);
	if (rc < 0)
		rc = o.list_columns ? list_columns(&o) : stat_main(&o);
	poptFreeContext(pc);
	free((char *)pid_s); /* popt hands string arguments over to us */
	free((char *)type_s);
	free((char *)output_s);
	free(o.pids);
	return rc;
}

const struct fdx_cmd fdx_cmd_stat = {
	.name = "stat",
	.run = stat_run,
	.summary = "list the shared buffers alive on this machine (like ipcs, lsfd)",
};

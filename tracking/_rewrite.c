/* The link scanner of tracking/rewrite.py, compiled: the same tokenizer, the same judging of
 * plain links, the same splice, without Python's cost per token and per link.
 *
 * tracking/rewrite.py is the specification: its regexes say what a token is, and the tests run
 * both implementations on the corpus and on generated input and require the same output. Here,
 * only what is common and cheap to decide is decided (a plain http(s) link: ASCII, no entity other
 * than &amp;, no port, nothing a merge tag is made of, a host not excluded); every other link is
 * handed to the Python `judge`, which knows every rule.
 *
 * Every read goes through at(), which answers END past the end: no index can leave the string.
 * Every loop advances: the scan is linear in the input, as the Python one is.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define END ((Py_UCS4)0xFFFFFFFF)

typedef struct {
    PyObject *str;
    int kind;
    const void *data;
    Py_ssize_t len;
} Doc;

static inline Py_UCS4 at(const Doc *d, Py_ssize_t i) {
    return (i >= 0 && i < d->len) ? PyUnicode_READ(d->kind, d->data, i) : END;
}

static inline int is_ws(Py_UCS4 c) { return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '; }
static inline int is_alpha(Py_UCS4 c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static inline Py_UCS4 lower(Py_UCS4 c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* doc[i:] starts with `word` (lowercase ASCII), case-insensitively. */
static int starts_ci(const Doc *d, Py_ssize_t i, const char *word) {
    for (; *word; word++, i++)
        if (lower(at(d, i)) != (Py_UCS4)(unsigned char)*word) return 0;
    return 1;
}

/* doc[i:j] is `word` (lowercase ASCII), case-insensitively. */
static int equals_ci(const Doc *d, Py_ssize_t i, Py_ssize_t j, const char *word) {
    return (Py_ssize_t)strlen(word) == j - i && starts_ci(d, i, word);
}

static Py_ssize_t find_char(const Doc *d, Py_UCS4 c, Py_ssize_t from, Py_ssize_t to) {
    for (Py_ssize_t near = from + 16 < to ? from + 16 : to; from < near; from++) /* often close: no call */
        if (at(d, from) == c) return from;
    if (from >= to) return -1;
    Py_ssize_t found = PyUnicode_FindChar(d->str, c, from, to, 1);
    return found < 0 ? -1 : found; /* -2 (an error) cannot happen for valid bounds */
}

/* `[^>]*+>?` from i: to just after the next `>`, or to the end. */
static Py_ssize_t past_gt(const Doc *d, Py_ssize_t i) {
    Py_ssize_t gt = find_char(d, '>', i, d->len);
    return gt < 0 ? d->len : gt + 1;
}

/* `--!?>` from i: its (start, end), or (len, len). */
static void comment_end(const Doc *d, Py_ssize_t i, Py_ssize_t *start, Py_ssize_t *end) {
    for (Py_ssize_t j = i; (j = find_char(d, '-', j, d->len)) >= 0; j++) {
        if (at(d, j + 1) != '-') continue;
        if (at(d, j + 2) == '>') { *start = j; *end = j + 3; return; }
        if (at(d, j + 2) == '!' && at(d, j + 3) == '>') { *start = j; *end = j + 4; return; }
    }
    *start = *end = d->len;
}

/* _TAG_REST from i: just after the `>` that ends the start tag, or -1 when it runs to the end. */
static Py_ssize_t tag_rest(const Doc *d, Py_ssize_t i) {
    for (;;) {
        Py_UCS4 c = at(d, i);
        if (c == END) return -1;
        if (c == '>') return i + 1;
        if (c != '=') { i++; continue; }
        i++;
        while (is_ws(at(d, i))) i++;
        c = at(d, i);
        if (c == '"' || c == '\'') {
            Py_ssize_t close = find_char(d, c, i + 1, d->len);
            if (close < 0) return -1;
            i = close + 1;
        } else if (c != END && c != '>') {
            while ((c = at(d, i)) != END && !is_ws(c) && c != '>') i++;
        }
    }
}

/* --- names ------------------------------------------------------------------------------------ */

static const char *const VML_SHAPES[] = {"rect", "roundrect", "oval", "shape", "line", "polyline",
                                         "curve", "arc", "image", "group", NULL};
static const char *const RAW_TEXT[] = {"script", "style", "title", "textarea", "xmp", "iframe",
                                       "noembed", "noframes", "noscript", NULL};

static int is_link_name(const Doc *d, Py_ssize_t i, Py_ssize_t j) {
    if (equals_ci(d, i, j, "a") || equals_ci(d, i, j, "area")) return 1;
    if (j - i < 3 || !starts_ci(d, i, "v:")) return 0;
    for (const char *const *name = VML_SHAPES; *name; name++)
        if (equals_ci(d, i + 2, j, *name)) return 1;
    return 0;
}

static const char *raw_text_name(const Doc *d, Py_ssize_t i, Py_ssize_t j) {
    if (j - i < 3 || j - i > 9) return NULL; /* xmp ... plaintext */
    for (const char *const *name = RAW_TEXT; *name; name++)
        if (equals_ci(d, i, j, *name)) return *name;
    return equals_ci(d, i, j, "plaintext") ? "plaintext" : NULL;
}

static inline int ends_name(Py_UCS4 c) { return c == END || is_ws(c) || c == '/' || c == '>'; }

/* --- tokens ----------------------------------------------------------------------------------- */

enum Kind { TEXT, OTHER, CONDITIONAL, ENDIF, LINK, BODY_END, UNTERMINATED, DONE };

typedef struct {
    enum Kind kind;
    Py_ssize_t end;       /* where the token ends */
    Py_ssize_t name_end;  /* LINK: where its attributes start */
} Token;

/* `[if ...]>` at i (just after `<!--`): just after its `]>`, or -1. */
static Py_ssize_t conditional_end(const Doc *d, Py_ssize_t i) {
    if (at(d, i) != '[' || !starts_ci(d, i + 1, "if")) return -1;
    Py_UCS4 c = at(d, i + 3);
    if (!(is_ws(c) || c == '!' || c == '(')) return -1;
    Py_ssize_t j = i + 3;
    while ((c = at(d, j)) != END && c != ']' && c != '>') j++;
    return (c == ']' && at(d, j + 1) == '>') ? j + 2 : -1;
}

/* `[endif]--!?>` at i (just after `<!`): just after it, or -1. */
static Py_ssize_t endif_end(const Doc *d, Py_ssize_t i) {
    if (!starts_ci(d, i, "[endif]--")) return -1;
    if (at(d, i + 9) == '>') return i + 10;
    return (at(d, i + 9) == '!' && at(d, i + 10) == '>') ? i + 11 : -1;
}

/* The raw text of a <script>, <style>, ... after its start tag: up to its end tag, or the end. */
static Py_ssize_t raw_text_end(const Doc *d, Py_ssize_t i, const char *name) {
    if (strcmp(name, "plaintext") == 0) return d->len;
    Py_ssize_t n = (Py_ssize_t)strlen(name);
    for (Py_ssize_t j = i; (j = find_char(d, '<', j, d->len)) >= 0; j++)
        if (at(d, j + 1) == '/' && starts_ci(d, j + 2, name)) {
            Py_UCS4 c = at(d, j + 2 + n);
            if (c != END && ends_name(c)) return j;
        }
    return d->len;
}

static Token start_tag(const Doc *d, Py_ssize_t p) {
    Token t = {OTHER, 0, 0};
    Py_ssize_t name_end = p + 1;
    while (!ends_name(at(d, name_end))) name_end++;
    if (at(d, name_end) == END) { t.kind = UNTERMINATED; t.end = p + 2; return t; }
    Py_ssize_t end = tag_rest(d, name_end);
    if (end < 0) { t.kind = UNTERMINATED; t.end = p + 2; return t; }
    t.end = end;
    if (strchr("aAvVsStTxXiInNpP", (int)at(d, p + 1)) == NULL) return t; /* no link or raw-text name starts so */
    if (is_link_name(d, p + 1, name_end)) {
        t.kind = LINK;
        t.name_end = name_end;
    } else {
        const char *raw = raw_text_name(d, p + 1, name_end);
        if (raw) t.end = raw_text_end(d, end, raw);
    }
    return t;
}

/* The token at p. */
static Token next_token(const Doc *d, Py_ssize_t p) {
    Token t = {TEXT, 0, 0};
    Py_UCS4 c = at(d, p), c1 = at(d, p + 1);
    if (c == END) { t.kind = DONE; t.end = p; return t; }
    if (c != '<') {
        Py_ssize_t lt = find_char(d, '<', p, d->len);
        t.end = lt < 0 ? d->len : lt;
        return t;
    }
    if (is_alpha(c1)) return start_tag(d, p);
    t.kind = OTHER;
    if (c1 == '!') {
        if (at(d, p + 2) == '-' && at(d, p + 3) == '-') {
            Py_ssize_t q = p + 4, s, e;
            if ((t.end = conditional_end(d, q)) >= 0) { t.kind = CONDITIONAL; return t; }
            if (at(d, q) == '>') t.end = q + 1;
            else if (at(d, q) == '-' && at(d, q + 1) == '>') t.end = q + 2;
            else { comment_end(d, q, &s, &e); t.end = e; }
            return t;
        }
        if ((t.end = endif_end(d, p + 2)) >= 0) { t.kind = ENDIF; return t; }
        t.end = past_gt(d, p + 2);
        return t;
    }
    if (c1 == '?') { t.end = past_gt(d, p + 2); return t; }
    if (c1 == '/') {
        if (starts_ci(d, p + 2, "body")) {
            Py_UCS4 after = at(d, p + 6);
            if (after != END && ends_name(after)) { t.kind = BODY_END; t.end = past_gt(d, p + 6); return t; }
        }
        t.end = past_gt(d, p + 2);
        return t;
    }
    t.kind = TEXT; /* a `<` that starts no tag is text */
    t.end = p + 1;
    return t;
}

/* --- a link tag's attributes (_anchor) ---------------------------------------------------------- */

typedef struct {
    Py_ssize_t href_start, href_end; /* -1: no href */
    Py_ssize_t no_track_start, no_track_end; /* -1: not marked */
    int unsubscribe;
} Anchor;

enum AttrName { OTHER_NAME, HREF, NO_TRACK, UNSUBSCRIBE };

static enum AttrName attr_name(const Doc *d, Py_ssize_t i, Py_ssize_t j) {
    if (equals_ci(d, i, j, "href")) return HREF;
    if (equals_ci(d, i, j, "data-no-track")) return NO_TRACK;
    if (equals_ci(d, i, j, "data-unsubscribe")) return UNSUBSCRIBE;
    return OTHER_NAME;
}

/* An attribute value after `=` and spaces at i, within [.., end): sets its span; returns where it
 * ends, or i when there is none. */
static Py_ssize_t attr_value(const Doc *d, Py_ssize_t i, Py_ssize_t end, Py_ssize_t *vs, Py_ssize_t *ve) {
    Py_UCS4 c = i < end ? at(d, i) : END;
    if (c == '"' || c == '\'') {
        Py_ssize_t close = find_char(d, c, i + 1, end);
        if (close < 0) return i;
        *vs = i + 1; *ve = close;
        return close + 1;
    }
    if (c == END || is_ws(c) || c == '>') return i;
    Py_ssize_t j = i + 1;
    while (j < end && !is_ws(c = at(d, j)) && c != '>') j++;
    *vs = i; *ve = j;
    return j;
}

static void read_anchor(const Doc *d, Py_ssize_t pos, Py_ssize_t end, Anchor *a) {
    a->href_start = a->href_end = a->no_track_start = a->no_track_end = -1;
    a->unsubscribe = 0;
    for (;;) {
        Py_UCS4 c;
        while (pos < end && ((c = at(d, pos)) == '/' || is_ws(c))) pos++;
        c = pos < end ? at(d, pos) : END;
        if (c == END || c == '>') return; /* no attribute name here: the tag is read */
        Py_ssize_t name_start = pos, name_end = pos + 1;
        while (name_end < end && !ends_name(c = at(d, name_end)) && c != '=') name_end++;
        Py_ssize_t after = name_end, vs = -1, ve = -1;
        while (after < end && is_ws(at(d, after))) after++;
        int has_equals = after < end && at(d, after) == '=';
        if (has_equals) {
            after++;
            while (after < end && is_ws(at(d, after))) after++;
            after = attr_value(d, after, end, &vs, &ve);
        } else {
            after = name_end;
        }
        enum AttrName name = attr_name(d, name_start, name_end);
        if (name == HREF && a->href_start < 0) {
            if (vs < 0) vs = ve = after; /* `href` or `href=` with no value */
            a->href_start = vs; a->href_end = ve;
        } else if (name == NO_TRACK && a->no_track_start < 0) {
            Py_ssize_t cut = name_start;
            while (is_ws(at(d, cut - 1))) cut--;
            a->no_track_start = cut; a->no_track_end = after;
        } else if (name == UNSUBSCRIBE) {
            a->unsubscribe = 1;
        }
        pos = after;
    }
}

/* --- plain links -------------------------------------------------------------------------------- */

typedef struct {
    Py_ssize_t max_len;     /* MAX_DESTINATION_BYTES */
    PyObject *hosts;        /* tuple of excluded hosts, canonical */
    PyObject *unsubscribe;  /* set of unsubscribe URLs */
    uint64_t lengths;       /* bit n % 64: an unsubscribe URL is n characters long (spares hashing the others) */
    char *buffer;           /* max_len bytes */
} Rules;

static int may_unsubscribe(const Rules *rules, Py_ssize_t length) { return (rules->lengths >> (length % 64)) & 1; }

static int plain_char(unsigned char c) {
    return c > 0x20 && c < 0x7f && c != '\\' && c != '%' && c != '{' && c != '}' && c != '[' && c != ']'
           && c != '|' && c != '*';
}

static int host_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* Is the host (lowercased, trailing dots dropped) excluded, or a subdomain of an excluded one? */
static int host_excluded(const Rules *rules, const char *host, Py_ssize_t n) {
    while (n > 0 && host[n - 1] == '.') n--;
    Py_ssize_t count = PyTuple_GET_SIZE(rules->hosts);
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_ssize_t m;
        const char *excluded = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(rules->hosts, k), &m);
        if (excluded == NULL) { PyErr_Clear(); return 1; }
        if (m > n) continue;
        int same = 1;
        for (Py_ssize_t i = 0; i < m && same; i++) same = (char)lower((unsigned char)host[n - m + i]) == excluded[i];
        if (same && (m == n || host[n - m - 1] == '.')) return 1;
    }
    return 0;
}

static Py_ssize_t utf8_length(Py_UCS4 c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

/* The URL if doc[s:e] is a plain trackable link (rewrite.PLAIN_URL without a port; `&amp;` decoded
 * in attributes), else NULL with no error set: such a link goes to the Python judge. NULL with an
 * error set: out of memory. */
static PyObject *plain_url(const Doc *d, Py_ssize_t s, Py_ssize_t e, int attribute, const Rules *rules) {
    Py_ssize_t host = s + (starts_ci(d, s, "https://") ? 8 : starts_ci(d, s, "http://") ? 7 : 0), host_end = host;
    if (host == s) return NULL;
    while (host_end < e && at(d, host_end) < 0x80 && host_char((unsigned char)at(d, host_end))) host_end++;
    Py_UCS4 after = host_end < e ? at(d, host_end) : END;
    if (host_end == host || host_end - s > rules->max_len || !(after == END || after == '/' || after == '?' || after == '#'))
        return NULL; /* no host, a port, an odd character, or too long */
    for (Py_ssize_t i = host; i < host_end; i++) rules->buffer[i - host] = (char)at(d, i);
    if (host_excluded(rules, rules->buffer, host_end - host)) return NULL;
    Py_ssize_t bytes = host_end - s, amps = 0;
    int ascii = 1;
    for (Py_ssize_t i = host_end; i < e; i++) {
        Py_UCS4 c = at(d, i);
        if (c > 0x7f) {
            if (c >= 0xd800 && c <= 0xdfff) return NULL; /* a lone surrogate: let Python say what it is */
            ascii = 0;
        } else if (c == '&' && attribute) {
            if (!(i + 4 < e && at(d, i + 1) == 'a' && at(d, i + 2) == 'm' && at(d, i + 3) == 'p' && at(d, i + 4) == ';'))
                return NULL; /* an entity other than &amp; */
            i += 4;
            amps++;
        } else if (!plain_char((unsigned char)c)) {
            return NULL;
        }
        if ((bytes += utf8_length(c)) > rules->max_len) return NULL; /* too long: Python says so */
    }
    PyObject *url;
    if (amps == 0) {
        url = PyUnicode_Substring(d->str, s, e);
    } else if (ascii) { /* decoded into the buffer: it holds max_len bytes, and bytes <= max_len */
        Py_ssize_t n = 0;
        for (Py_ssize_t i = s; i < e; i++) {
            Py_UCS4 c = at(d, i);
            rules->buffer[n++] = (char)c;
            if (c == '&') i += 4;
        }
        url = PyUnicode_DecodeASCII(rules->buffer, n, NULL);
    } else {
        return NULL;
    }
    if (url == NULL) return NULL;
    int unsubscribe = may_unsubscribe(rules, PyUnicode_GET_LENGTH(url)) ? PySet_Contains(rules->unsubscribe, url) : 0;
    if (unsubscribe != 0) {
        Py_DECREF(url);
        return NULL; /* an unsubscribe link (or an error, then set) */
    }
    return url;
}

/* --- the rewrite -------------------------------------------------------------------------------- */

typedef struct {
    Doc doc;
    Rules rules;
    PyObject *track_link; /* NULL: clicks are not tracked */
    PyObject *judge;      /* judge(raw, no_track, unsubscribe) -> (url, reason or None, listed) */
    PyObject *pieces, *tracked, *skipped;
    Py_ssize_t copied;    /* doc[:copied] is in pieces */
    Py_ssize_t body_end;  /* pieces[:body_end] hold the document up to its last `</body>`; -1: none */
} Rewrite;

static int emit(Rewrite *r, Py_ssize_t start, Py_ssize_t end, PyObject *replacement) {
    if (start > r->copied) {
        PyObject *piece = PyUnicode_Substring(r->doc.str, r->copied, start);
        if (piece == NULL || PyList_Append(r->pieces, piece) < 0) { Py_XDECREF(piece); return -1; }
        Py_DECREF(piece);
    }
    if (replacement != NULL && PyList_Append(r->pieces, replacement) < 0) return -1;
    r->copied = end;
    return 0;
}

/* html.escape(url, quote=True), only where needed. New reference. */
static PyObject *escaped(PyObject *url) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(url);
    int kind = PyUnicode_KIND(url);
    const void *data = PyUnicode_DATA(url);
    Py_ssize_t i = 0;
    for (; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == '&' || c == '<' || c == '>' || c == '"' || c == '\'') break;
    }
    if (i == n) return Py_NewRef(url);
    PyObject *html = PyImport_ImportModule("html");
    if (html == NULL) return NULL;
    PyObject *result = PyObject_CallMethod(html, "escape", "O", url);
    Py_DECREF(html);
    return result;
}

/* Track `url` (a new reference, stolen) at doc[s:e]. */
static int track(Rewrite *r, PyObject *url, Py_ssize_t s, Py_ssize_t e, int escape) {
    PyObject *tracking = PyObject_CallOneArg(r->track_link, url);
    int ok = tracking != NULL && PyUnicode_Check(tracking) && PyList_Append(r->tracked, url) == 0;
    if (tracking != NULL && !PyUnicode_Check(tracking))
        PyErr_SetString(PyExc_TypeError, "track_link must return a str");
    Py_DECREF(url);
    if (!ok) { Py_XDECREF(tracking); return -1; }
    if (escape) Py_SETREF(tracking, escaped(tracking));
    if (tracking == NULL) return -1;
    ok = emit(r, s, e, tracking);
    Py_DECREF(tracking);
    return ok;
}

/* A link at doc[s:e]: plain, tracked here; else as the judge says. */
static int rewrite_link(Rewrite *r, Py_ssize_t s, Py_ssize_t e, int attribute, int no_track, int unsubscribe) {
    if (!no_track && !unsubscribe) {
        PyObject *url = plain_url(&r->doc, s, e, attribute, &r->rules);
        if (url != NULL) return track(r, url, s, e, attribute);
        if (PyErr_Occurred()) return -1;
    }
    PyObject *raw = PyUnicode_Substring(r->doc.str, s, e);
    if (raw == NULL) return -1;
    PyObject *verdict = PyObject_CallFunction(r->judge, "Oii", raw, no_track, unsubscribe);
    Py_DECREF(raw);
    if (verdict == NULL) return -1;
    PyObject *url, *reason, *listed;
    if (!PyArg_ParseTuple(verdict, "UOO", &url, &reason, &listed)) { Py_DECREF(verdict); return -1; }
    int result = 0, is_listed = reason == Py_None ? 0 : PyObject_IsTrue(listed);
    if (reason == Py_None) {
        result = track(r, Py_NewRef(url), s, e, attribute);
    } else if (is_listed < 0) {
        result = -1;
    } else if (is_listed) {
        PyObject *skip = PyTuple_Pack(2, url, reason);
        result = (skip == NULL || PyList_Append(r->skipped, skip) < 0) ? -1 : 0;
        Py_XDECREF(skip);
    }
    Py_DECREF(verdict);
    return result;
}

static int anchor(Rewrite *r, Py_ssize_t name_end, Py_ssize_t tag_end) {
    Anchor a;
    read_anchor(&r->doc, name_end, tag_end, &a);
    if (a.href_start < 0) return 0;
    int no_track = a.no_track_start >= 0;
    if (no_track && emit(r, a.no_track_start, a.no_track_end, NULL) < 0) return -1;
    return rewrite_link(r, a.href_start, a.href_end, 1, no_track, a.unsubscribe);
}

/* _scan: tokens from pos; returns where to start again, or -1 at the end (or -2 on an error). */
static Py_ssize_t scan(Rewrite *r, Py_ssize_t pos) {
    const Doc *d = &r->doc;
    int outlook = 0;
    Py_ssize_t outlook_start = 0, outlook_end = 0; /* inside a conditional comment: its `-->` */
    for (;;) {
        Token t = next_token(d, pos);
        if (outlook && t.end > outlook_start) {
            if (t.kind == ENDIF && t.end == outlook_end) { outlook = 0; pos = t.end; continue; }
            return outlook_end; /* it ran past the `-->`: cut there, as browsers do */
        }
        switch (t.kind) {
        case DONE: return -1;
        case UNTERMINATED: return outlook ? outlook_end : -1;
        case LINK:
            if (r->track_link != NULL && anchor(r, t.name_end, t.end) < 0) return -2;
            break;
        case BODY_END: /* the pixel goes here: what comes before is in pieces[:body_end] */
            if (!outlook) {
                if (emit(r, pos, pos, NULL) < 0) return -2;
                r->body_end = PyList_GET_SIZE(r->pieces);
            }
            break;
        case CONDITIONAL:
            if (!outlook) { outlook = 1; comment_end(d, t.end, &outlook_start, &outlook_end); }
            break;
        default: break;
        }
        pos = t.end;
    }
}

/* The rules' shapes: excluded hosts a tuple of str, unsubscribe URLs a set. */
static int valid(PyObject *hosts, PyObject *unsubscribe) {
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(hosts); k++)
        if (!PyUnicode_Check(PyTuple_GET_ITEM(hosts, k))) {
            PyErr_SetString(PyExc_TypeError, "excluded hosts must be str");
            return 0;
        }
    if (!PyAnySet_Check(unsubscribe)) {
        PyErr_SetString(PyExc_TypeError, "unsubscribe URLs must be a set or frozenset");
        return 0;
    }
    return 1;
}

static int init(Rewrite *r, PyObject *document, PyObject *track_link, PyObject *judge, PyObject *hosts,
                PyObject *unsubscribe, Py_ssize_t max_len) {
    r->doc.str = document;
    r->doc.kind = PyUnicode_KIND(document);
    r->doc.data = PyUnicode_DATA(document);
    r->doc.len = PyUnicode_GET_LENGTH(document);
    r->track_link = track_link == Py_None ? NULL : track_link;
    r->judge = judge;
    r->rules.max_len = max_len < 1 ? 1 : max_len;
    r->rules.hosts = hosts;
    r->rules.unsubscribe = unsubscribe;
    r->rules.buffer = PyMem_Malloc((size_t)r->rules.max_len);
    r->rules.lengths = 0;
    PyObject *iterator = PyObject_GetIter(unsubscribe), *item;
    while (iterator != NULL && (item = PyIter_Next(iterator)) != NULL) {
        if (PyUnicode_Check(item)) r->rules.lengths |= (uint64_t)1 << (PyUnicode_GET_LENGTH(item) % 64);
        Py_DECREF(item);
    }
    Py_XDECREF(iterator);
    r->pieces = PyList_New(0);
    r->tracked = PyList_New(0);
    r->skipped = PyList_New(0);
    r->copied = 0;
    r->body_end = -1;
    if (PyErr_Occurred() || r->rules.buffer == NULL || r->pieces == NULL || r->tracked == NULL || r->skipped == NULL) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static PyObject *finish(Rewrite *r, int ok) {
    PyObject *result = NULL;
    if (ok && emit(r, r->doc.len, r->doc.len, NULL) == 0) {
        PyObject *empty = PyUnicode_New(0, 0);
        PyObject *body = empty ? PyUnicode_Join(empty, r->pieces) : NULL;
        Py_XDECREF(empty);
        if (body) result = Py_BuildValue("(NOO)", body, r->tracked, r->skipped);
    }
    PyMem_Free(r->rules.buffer);
    Py_XDECREF(r->pieces);
    Py_XDECREF(r->tracked);
    Py_XDECREF(r->skipped);
    return result;
}

static PyObject *rewrite_html(PyObject *module, PyObject *args) {
    PyObject *document, *track_link, *pixel_tag, *judge, *hosts, *unsubscribe;
    Py_ssize_t max_len;
    if (!PyArg_ParseTuple(args, "UOOOO!On", &document, &track_link, &pixel_tag, &judge, &PyTuple_Type, &hosts,
                          &unsubscribe, &max_len)
        || !valid(hosts, unsubscribe))
        return NULL;
    Rewrite r;
    if (init(&r, document, track_link, judge, hosts, unsubscribe, max_len) < 0) return finish(&r, 0);
    Py_ssize_t pos = 0;
    while (pos >= 0) pos = scan(&r, pos);
    int ok = pos == -1 && emit(&r, r.doc.len, r.doc.len, NULL) == 0;
    if (ok && pixel_tag != Py_None)
        ok = (r.body_end >= 0 ? PyList_Insert(r.pieces, r.body_end, pixel_tag) : PyList_Append(r.pieces, pixel_tag)) == 0;
    return finish(&r, ok);
}

/* --- text parts --------------------------------------------------------------------------------- */

static int is_space(Py_UCS4 c) { /* rewrite._SPACES */
    return c <= 0x20 || c == 0x7f || c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a)
           || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

static unsigned char URL_ASCII[128]; /* 1: an ASCII character of rewrite._URL_CHAR (set when the module loads) */

static void init_url_ascii(void) {
    for (int c = 0; c < 128; c++) URL_ASCII[c] = c > 0x20 && c != 0x7f && strchr("\"'`<>()[]", c) == NULL;
}

static int is_url_char(Py_UCS4 c) { /* rewrite._URL_CHAR */
    if (c < 128) return URL_ASCII[c];
    if (c == END || is_space(c)) return 0;
    switch (c) { /* the rest of rewrite._TEXT_STOP */
    case 0x201c: case 0x201d: case 0x201e: case 0x2018: case 0x2019: case 0x201a: case 0xab: case 0xbb:
    case 0x2039: case 0x203a: case 0x2026: case 0x3002: case 0x3001: case 0xff0c: case 0xff0e: case 0xff1a:
    case 0xff1b: case 0xff01: case 0xff1f: case 0x300c: case 0x300d: case 0x300e: case 0x300f: case 0xff08:
    case 0xff09: case 0x3010: case 0x3011: case 0x3008: case 0x3009: case 0x300a: case 0x300b: case 0x3014:
    case 0x3015: case 0xff62: case 0xff63: case 0xff64:
        return 0;
    default:
        return 1;
    }
}

static Py_ssize_t url_chars(const Doc *d, Py_ssize_t i) {
    while (is_url_char(at(d, i))) i++;
    return i;
}

/* _NESTED at i: just after it, or -1. */
static Py_ssize_t nested(const Doc *d, Py_ssize_t i) {
    Py_UCS4 close = at(d, i) == '(' ? ')' : ']';
    Py_ssize_t j = url_chars(d, i + 1);
    return at(d, j) == close ? j + 1 : -1;
}

/* _BRACKETS at i: just after it, or -1. */
static Py_ssize_t brackets(const Doc *d, Py_ssize_t i) {
    Py_UCS4 close = at(d, i) == '(' ? ')' : ']';
    Py_ssize_t j = i + 1;
    for (;;) {
        Py_UCS4 c = at(d, j);
        if (is_url_char(c)) { j = url_chars(d, j); continue; }
        if (c == '(' || c == '[') {
            Py_ssize_t k = nested(d, j);
            if (k < 0) break;
            j = k;
            continue;
        }
        break;
    }
    return at(d, j) == close ? j + 1 : -1;
}

/* TEXT_URL's body after `://` at i: where it ends (i when empty). */
static Py_ssize_t text_url_end(const Doc *d, Py_ssize_t i) {
    for (;;) {
        Py_UCS4 c = at(d, i);
        if (is_url_char(c)) { i = url_chars(d, i); continue; }
        if (c == '(' || c == '[') {
            Py_UCS4 c1 = at(d, i + 1), c2 = at(d, i + 2);
            if ((c1 == '(' || c1 == '[') && (c2 == '(' || c2 == '[')) { i++; continue; } /* no _BRACKETS can start here */
            Py_ssize_t k = brackets(d, i);
            i = k < 0 ? i + 1 : k;
            continue;
        }
        return i;
    }
}

static int is_trailing(Py_UCS4 c) { /* rewrite.TRAILING_PUNCTUATION */
    return c == '.' || c == ',' || c == ':' || c == ';' || c == '!' || c == '?' || c == '*';
}

/* _url_end: the sentence's punctuation after a URL is not part of it. */
static Py_ssize_t trimmed(const Doc *d, Py_ssize_t s, Py_ssize_t e) {
    Py_ssize_t end = e;
    while (end > s && is_trailing(at(d, end - 1))) end--;
    if (end < e && at(d, end - 1) == '|' && at(d, end) == '*') end++;
    return end;
}

static PyObject *rewrite_text(PyObject *module, PyObject *args) {
    PyObject *text, *track_link, *judge, *hosts, *unsubscribe;
    Py_ssize_t max_len;
    if (!PyArg_ParseTuple(args, "UOOO!On", &text, &track_link, &judge, &PyTuple_Type, &hosts, &unsubscribe, &max_len)
        || !valid(hosts, unsubscribe))
        return NULL;
    Rewrite r;
    if (init(&r, text, track_link, judge, hosts, unsubscribe, max_len) < 0) return finish(&r, 0);
    const Doc *d = &r.doc;
    Py_ssize_t pos = 0, colon;
    int ok = 1;
    PyObject *separator = PyUnicode_FromString("://");
    if (separator == NULL) return finish(&r, 0);
    while (ok && pos < d->len && (colon = PyUnicode_Find(text, separator, pos, d->len, 1)) >= 0) {
        Py_ssize_t start = -1;
        if (colon >= 5 && starts_ci(d, colon - 5, "https")) start = colon - 5;
        else if (colon >= 4 && starts_ci(d, colon - 4, "http")) start = colon - 4;
        Py_ssize_t end = start >= pos ? text_url_end(d, colon + 3) : colon + 3;
        if (start < pos || end == colon + 3) { pos = colon + 3; continue; }
        ok = rewrite_link(&r, start, trimmed(d, start, end), 0, 0, 0) == 0;
        pos = end;
    }
    Py_DECREF(separator);
    return finish(&r, ok && !PyErr_Occurred());
}

static PyMethodDef methods[] = {
    {"rewrite_html", rewrite_html, METH_VARARGS,
     "rewrite_html(document, track_link, pixel_tag, judge, excluded_hosts, unsubscribe_urls, max_len)"
     " -> (body, tracked, skipped)"},
    {"rewrite_text", rewrite_text, METH_VARARGS,
     "rewrite_text(text, track_link, judge, excluded_hosts, unsubscribe_urls, max_len) -> (body, tracked, skipped)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "tracking._rewrite",
                                    "The link scanner of tracking/rewrite.py, compiled.", -1, methods};

PyMODINIT_FUNC PyInit__rewrite(void) {
    init_url_ascii();
    return PyModule_Create(&module);
}

/* footfall._speedups: the pixel's two parsers in C.
 *
 * Optional: when this module is missing (no C compiler at install time), footfall uses the Python
 * functions these mirror, footfall.http_head.parse_simple_get_python and
 * footfall.collect.endpoints.parse_query_python. The tests run both on the same inputs, including
 * random ones, and require identical results; change one and the other changes with it.
 *
 * parse_head(data: bytes, limit: int) -> tuple | None
 *     A whole, plain GET/HEAD request at the start of data (its blank line within the first limit
 *     bytes): (size, method, path, query, headers, keep_alive), headers a dict of lower-case names
 *     to values (Latin-1, repeats joined with ", ", cookies with "; "). None for anything else: an
 *     incomplete head, another method, a body, an upgrade, any byte out of place.
 *
 * parse_query(query: bytes, wanted: frozenset[str], max_fields: int) -> dict | None
 *     The wanted parameters (ASCII names; first occurrence wins), values '+'- and %XX-decoded then
 *     UTF-8 decoded strictly (UnicodeDecodeError otherwise). None when the query has max_fields or
 *     more '&' separators.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static PyObject *str_get, *str_head, *str_cookie, *str_empty;

/* RFC 9110 token characters */
static int
is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* a byte allowed in a header value: tab, visible ASCII, space, obs-text */
static int
is_value_byte(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int
equals_lower(const unsigned char *s, Py_ssize_t n, const char *lower)
{
    Py_ssize_t i;
    if ((Py_ssize_t)strlen(lower) != n)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c != (unsigned char)lower[i])
            return 0;
    }
    return 1;
}

/* does a Connection header value list the token "close"? */
static int
lists_close(const unsigned char *s, Py_ssize_t n)
{
    Py_ssize_t start = 0, i;
    for (i = 0; i <= n; i++) {
        if (i == n || s[i] == ',') {
            Py_ssize_t a = start, b = i;
            while (a < b && (s[a] == ' ' || s[a] == '\t'))
                a++;
            while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
                b--;
            if (equals_lower(s + a, b - a, "close"))
                return 1;
            start = i + 1;
        }
    }
    return 0;
}

static Py_ssize_t
find_crlf(const unsigned char *s, Py_ssize_t from, Py_ssize_t to)
{
    Py_ssize_t i;
    for (i = from; i + 1 < to; i++) {
        if (s[i] == '\r' && s[i + 1] == '\n')
            return i;
    }
    return -1;
}

static Py_ssize_t
find_blank_line(const unsigned char *s, Py_ssize_t to)
{
    Py_ssize_t i;
    for (i = 0; i + 3 < to; i++) {
        if (s[i] == '\r' && s[i + 1] == '\n' && s[i + 2] == '\r' && s[i + 3] == '\n')
            return i;
    }
    return -1;
}

/* Add one header to the dict, joining a repeat as the Python version does. 0 ok, -1 error. */
static int
add_header(PyObject *headers, const unsigned char *name, Py_ssize_t name_len,
           const unsigned char *value, Py_ssize_t value_len)
{
    PyObject *key, *val, *old;
    Py_ssize_t i;
    Py_UCS1 *out;
    int rc;

    key = PyUnicode_New(name_len, 127);
    if (key == NULL)
        return -1;
    out = PyUnicode_1BYTE_DATA(key);
    for (i = 0; i < name_len; i++) {
        unsigned char c = name[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (Py_UCS1)(c + 32) : c;
    }
    val = PyUnicode_DecodeLatin1((const char *)value, value_len, NULL);
    if (val == NULL) {
        Py_DECREF(key);
        return -1;
    }
    old = PyDict_GetItemWithError(headers, key); /* borrowed */
    if (old == NULL && PyErr_Occurred()) {
        Py_DECREF(key);
        Py_DECREF(val);
        return -1;
    }
    if (old != NULL) {
        PyObject *sep = PyUnicode_FromString(
            PyUnicode_Compare(key, str_cookie) == 0 ? "; " : ", ");
        PyObject *joined = NULL, *tmp = NULL;
        if (sep != NULL)
            tmp = PyUnicode_Concat(old, sep);
        if (tmp != NULL)
            joined = PyUnicode_Concat(tmp, val);
        Py_XDECREF(sep);
        Py_XDECREF(tmp);
        Py_DECREF(val);
        if (joined == NULL) {
            Py_DECREF(key);
            return -1;
        }
        val = joined;
    }
    rc = PyDict_SetItem(headers, key, val);
    Py_DECREF(key);
    Py_DECREF(val);
    return rc;
}

static PyObject *
parse_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    const unsigned char *s;
    Py_ssize_t n, limit, end, line_end, p, target, target_end, question, line, cl_count = 0;
    int head, keep_alive, cl_is_zero = 0, close_listed = 0;
    PyObject *headers = NULL, *path = NULL, *query = NULL, *result;

    if (nargs != 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "parse_head(data: bytes, limit: int)");
        return NULL;
    }
    limit = PyLong_AsSsize_t(args[1]);
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    s = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    n = PyBytes_GET_SIZE(args[0]);

    end = find_blank_line(s, n < limit ? n : limit);
    if (end < 0)
        Py_RETURN_NONE;
    line_end = find_crlf(s, 0, end + 2);

    /* the request line: (GET|HEAD) SP /target SP HTTP/1.(0|1) */
    if (line_end >= 4 && memcmp(s, "GET ", 4) == 0) {
        head = 0;
        p = 4;
    }
    else if (line_end >= 5 && memcmp(s, "HEAD ", 5) == 0) {
        head = 1;
        p = 5;
    }
    else
        Py_RETURN_NONE;
    target = p;
    if (p >= line_end || s[p] != '/')
        Py_RETURN_NONE;
    question = -1;
    while (p < line_end && s[p] >= 0x21 && s[p] <= 0x7e) {
        if (s[p] == '#')
            Py_RETURN_NONE;
        if (s[p] == '?' && question < 0)
            question = p;
        p++;
    }
    target_end = p;
    if (line_end - p != 9 || memcmp(s + p, " HTTP/1.", 8) != 0 ||
        (s[p + 8] != '0' && s[p + 8] != '1'))
        Py_RETURN_NONE;
    keep_alive = s[p + 8] == '1';

    /* the header lines: token ":" value CRLF, up to the blank line */
    headers = PyDict_New();
    if (headers == NULL)
        return NULL;
    line = line_end + 2;
    while (line < end + 2) {
        Py_ssize_t colon = line, v0, v1, crlf;
        while (colon < end && is_tchar(s[colon]))
            colon++;
        if (colon == line || s[colon] != ':')
            goto not_simple;
        crlf = colon + 1;
        while (crlf < end && is_value_byte(s[crlf]))
            crlf++;
        if (s[crlf] != '\r' || s[crlf + 1] != '\n')
            goto not_simple;
        v0 = colon + 1;
        v1 = crlf;
        while (v0 < v1 && (s[v0] == ' ' || s[v0] == '\t'))
            v0++;
        while (v1 > v0 && (s[v1 - 1] == ' ' || s[v1 - 1] == '\t'))
            v1--;
        if (equals_lower(s + line, colon - line, "content-length")) {
            cl_count++;
            cl_is_zero = v1 - v0 == 1 && s[v0] == '0';
        }
        else if (equals_lower(s + line, colon - line, "transfer-encoding") ||
                 equals_lower(s + line, colon - line, "upgrade") ||
                 equals_lower(s + line, colon - line, "expect"))
            goto not_simple;
        else if (equals_lower(s + line, colon - line, "connection") &&
                 lists_close(s + v0, v1 - v0))
            close_listed = 1;
        if (add_header(headers, s + line, colon - line, s + v0, v1 - v0) < 0)
            goto error;
        line = crlf + 2;
    }
    if (cl_count > 1 || (cl_count == 1 && !cl_is_zero))
        goto not_simple;
    if (close_listed)
        keep_alive = 0;

    if (question < 0) {
        path = PyBytes_FromStringAndSize((const char *)s + target, target_end - target);
        query = Py_NewRef(str_empty);
    }
    else {
        path = PyBytes_FromStringAndSize((const char *)s + target, question - target);
        query = PyBytes_FromStringAndSize((const char *)s + question + 1,
                                          target_end - question - 1);
    }
    if (path == NULL || query == NULL)
        goto error;
    result = Py_BuildValue("(nONNNO)", end + 4, head ? str_head : str_get, path, query, headers,
                           keep_alive ? Py_True : Py_False);
    return result; /* Py_BuildValue's N took path, query and headers, even on failure */

not_simple:
    Py_DECREF(headers);
    Py_RETURN_NONE;
error:
    Py_XDECREF(headers);
    Py_XDECREF(path);
    Py_XDECREF(query);
    return NULL;
}

/* '+' as space and %XX as its byte, as urllib.parse.unquote_to_bytes after replacing '+' */
static Py_ssize_t
form_decode(const unsigned char *s, Py_ssize_t n, unsigned char *out)
{
    Py_ssize_t i, o = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '+')
            c = ' ';
        else if (c == '%' && i + 2 < n) {
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = (unsigned char)(hi * 16 + lo);
                i += 2;
            }
        }
        out[o++] = c;
    }
    return o;
}

static PyObject *
parse_query(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    const unsigned char *s;
    Py_ssize_t n, max_fields, i, amps = 0, start;
    PyObject *wanted, *result = NULL;
    unsigned char *buf = NULL;

    if (nargs != 3 || !PyBytes_Check(args[0]) || !PyAnySet_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "parse_query(query: bytes, wanted: frozenset, max_fields: int)");
        return NULL;
    }
    wanted = args[1];
    max_fields = PyLong_AsSsize_t(args[2]);
    if (max_fields == -1 && PyErr_Occurred())
        return NULL;
    s = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    n = PyBytes_GET_SIZE(args[0]);
    for (i = 0; i < n; i++)
        amps += s[i] == '&';
    if (amps >= max_fields)
        Py_RETURN_NONE;

    result = PyDict_New();
    buf = PyMem_Malloc(n + 1);
    if (result == NULL || buf == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    start = 0;
    while (start <= n) {
        Py_ssize_t amp = start, eq, key_len, j;
        PyObject *key, *value;
        int ascii = 1, found;
        while (amp < n && s[amp] != '&')
            amp++;
        eq = start;
        while (eq < amp && s[eq] != '=')
            eq++;
        key_len = form_decode(s + start, eq - start, buf);
        for (j = start; j < eq; j++)
            ascii &= s[j] < 0x80;
        for (j = 0; j < key_len; j++)
            ascii &= buf[j] < 0x80;
        if (ascii) { /* wanted names are ASCII: a name with other bytes is never one of them */
            key = PyUnicode_DecodeASCII((const char *)buf, key_len, NULL);
            if (key == NULL)
                goto error;
            found = PySet_Contains(wanted, key);
            if (found == 1)
                found = !PyDict_Contains(result, key);
            if (found < 0) {
                Py_DECREF(key);
                goto error;
            }
            if (found) {
                Py_ssize_t from = eq < amp ? eq + 1 : amp;
                Py_ssize_t len = form_decode(s + from, amp - from, buf);
                value = PyUnicode_DecodeUTF8((const char *)buf, len, "strict");
                if (value == NULL || PyDict_SetItem(result, key, value) < 0) {
                    Py_XDECREF(value);
                    Py_DECREF(key);
                    goto error;
                }
                Py_DECREF(value);
            }
            Py_DECREF(key);
        }
        start = amp + 1;
    }
    PyMem_Free(buf);
    return result;

error:
    PyMem_Free(buf);
    Py_XDECREF(result);
    return NULL;
}

static PyMethodDef speedups_methods[] = {
    {"parse_head", (PyCFunction)(void (*)(void))parse_head, METH_FASTCALL,
     "parse_head(data, limit) -> (size, method, path, query, headers, keep_alive) | None"},
    {"parse_query", (PyCFunction)(void (*)(void))parse_query, METH_FASTCALL,
     "parse_query(query, wanted, max_fields) -> dict | None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT, "footfall._speedups",
    "The pixel's request-head and query-string parsers in C (see footfall.server), and the"
    " session tracker's table (_sessiontable.c).", -1,
    speedups_methods, NULL, NULL, NULL, NULL,
};

extern PyTypeObject SessionTableType; /* _sessiontable.c */

PyMODINIT_FUNC
PyInit__speedups(void)
{
    str_get = PyUnicode_InternFromString("GET");
    str_head = PyUnicode_InternFromString("HEAD");
    str_cookie = PyUnicode_InternFromString("cookie");
    str_empty = PyBytes_FromStringAndSize("", 0);
    if (str_get == NULL || str_head == NULL || str_cookie == NULL || str_empty == NULL)
        return NULL;
    PyObject *module = PyModule_Create(&speedups_module);
    if (module == NULL)
        return NULL;
    if (PyType_Ready(&SessionTableType) < 0 ||
        PyModule_AddObjectRef(module, "SessionTable", (PyObject *)&SessionTableType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}

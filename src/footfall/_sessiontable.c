/* SessionTable: when each live session was last seen, for footfall.identify.sessions.
 *
 * A busy site keeps hundreds of thousands of sessions live for the whole timeout. As a dict of
 * Python ints each costs ~90 bytes, and the key objects, spread over the interpreter's memory
 * arenas among short-lived hit objects, keep those arenas from ever being returned. Here a session
 * is one 16-byte slot (64-bit key hash, last seen in ms) of an open-addressing table with linear
 * probing, at most 70 % full. Entries leave only by prune(), which rebuilds the table, so there
 * are no tombstones. Key 0 marks an empty slot (a key hash of 0 is stored as 1).
 *
 * Part of the footfall._speedups module (registered by PyInit__speedups); the Python twin is
 * footfall.identify.sessions.DictTable, and tests hold the two to the same answers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

#define MIN_CAPACITY 1024

typedef struct {
    uint64_t key;
    int64_t seen;
} Slot;

typedef struct {
    PyObject_HEAD
    Slot *slots;
    Py_ssize_t capacity; /* a power of two */
    Py_ssize_t used;
} SessionTable;

static int
key_of(PyObject *obj, uint64_t *key)
{
    /* any Python int (hash() gives negative ones too), reduced to its low 64 bits */
    if (!PyLong_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "a session key must be an int");
        return -1;
    }
    uint64_t k = (uint64_t)PyLong_AsUnsignedLongLongMask(obj);
    if (k == (uint64_t)-1 && PyErr_Occurred())
        return -1;
    *key = k ? k : 1;
    return 0;
}

static Py_ssize_t
find(const Slot *slots, Py_ssize_t capacity, uint64_t key)
{
    /* the slot holding key, or the empty slot where it would go */
    size_t mask = (size_t)capacity - 1;
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
    while (slots[i].key != 0 && slots[i].key != key)
        i = (i + 1) & mask;
    return (Py_ssize_t)i;
}

static int
rebuild(SessionTable *self, Py_ssize_t capacity, int64_t cutoff, Py_ssize_t ties)
{
    /* copy the entries seen after cutoff, and at most ties of those seen at cutoff (all of them
       when ties < 0), into a new table of the given capacity */
    Slot *fresh = PyMem_Calloc((size_t)capacity, sizeof(Slot));
    if (fresh == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t used = 0;
    for (Py_ssize_t i = 0; i < self->capacity; i++) {
        Slot s = self->slots[i];
        if (s.key == 0 || s.seen < cutoff)
            continue;
        if (s.seen == cutoff && ties >= 0) {
            if (ties == 0)
                continue;
            ties--;
        }
        fresh[find(fresh, capacity, s.key)] = s;
        used++;
    }
    PyMem_Free(self->slots);
    self->slots = fresh;
    self->capacity = capacity;
    self->used = used;
    return 0;
}

static Py_ssize_t
capacity_for(Py_ssize_t entries)
{
    /* the smallest power of two that holds entries at most half full */
    Py_ssize_t capacity = MIN_CAPACITY;
    while (capacity < entries * 2)
        capacity *= 2;
    return capacity;
}

static PyObject *
table_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwds != NULL && PyDict_GET_SIZE(kwds) != 0)) {
        PyErr_SetString(PyExc_TypeError, "SessionTable() takes no arguments");
        return NULL;
    }
    SessionTable *self = (SessionTable *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->slots = PyMem_Calloc(MIN_CAPACITY, sizeof(Slot));
    if (self->slots == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->capacity = MIN_CAPACITY;
    return (PyObject *)self;
}

static void
table_dealloc(SessionTable *self)
{
    PyMem_Free(self->slots);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
table_get(SessionTable *self, PyObject *arg)
{
    uint64_t key;
    if (key_of(arg, &key) < 0)
        return NULL;
    Slot s = self->slots[find(self->slots, self->capacity, key)];
    if (s.key == 0)
        Py_RETURN_NONE;
    return PyLong_FromLongLong(s.seen);
}

static PyObject *
table_set(SessionTable *self, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t key;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "set(key, seen_ms) takes two arguments");
        return NULL;
    }
    if (key_of(args[0], &key) < 0)
        return NULL;
    long long seen = PyLong_AsLongLong(args[1]);
    if (seen == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t i = find(self->slots, self->capacity, key);
    if (self->slots[i].key == 0) {
        if ((self->used + 1) * 10 > self->capacity * 7) {
            if (rebuild(self, self->capacity * 2, INT64_MIN, -1) < 0)
                return NULL;
            i = find(self->slots, self->capacity, key);
        }
        self->used++;
    }
    self->slots[i].key = key;
    self->slots[i].seen = seen;
    Py_RETURN_NONE;
}

static PyObject *
table_prune(SessionTable *self, PyObject *arg)
{
    /* forget the entries last seen before cutoff; returns how many went */
    long long cutoff = PyLong_AsLongLong(arg);
    if (cutoff == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < self->capacity; i++)
        if (self->slots[i].key != 0 && self->slots[i].seen >= cutoff)
            kept++;
    Py_ssize_t before = self->used;
    if (rebuild(self, capacity_for(kept), cutoff, -1) < 0)
        return NULL;
    return PyLong_FromSsize_t(before - self->used);
}

static int
descending(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

static PyObject *
table_keep_newest(SessionTable *self, PyObject *arg)
{
    /* forget all but the n most recently seen entries; returns how many went */
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 0)
        n = 0;
    if (self->used <= n)
        return PyLong_FromLong(0);
    Py_ssize_t before = self->used, newer = 0;
    int64_t from = INT64_MAX;
    if (n > 0) {
        int64_t *seen = PyMem_Malloc((size_t)self->used * sizeof(int64_t));
        if (seen == NULL)
            return PyErr_NoMemory();
        Py_ssize_t k = 0;
        for (Py_ssize_t i = 0; i < self->capacity; i++)
            if (self->slots[i].key != 0)
                seen[k++] = self->slots[i].seen;
        qsort(seen, (size_t)k, sizeof(int64_t), descending);
        from = seen[n - 1];
        while (newer < n && seen[newer] > from)
            newer++;
        PyMem_Free(seen);
    }
    if (rebuild(self, capacity_for(n), from, n - newer) < 0)
        return NULL;
    return PyLong_FromSsize_t(before - self->used);
}

static Py_ssize_t
table_len(SessionTable *self)
{
    return self->used;
}

static PyObject *
table_sizeof(SessionTable *self, PyObject *unused)
{
    return PyLong_FromSsize_t((Py_ssize_t)sizeof(SessionTable) +
                              self->capacity * (Py_ssize_t)sizeof(Slot));
}

static PyMethodDef table_methods[] = {
    {"get", (PyCFunction)table_get, METH_O, "get(key) -> last seen (ms) | None"},
    {"set", (PyCFunction)(void (*)(void))table_set, METH_FASTCALL, "set(key, seen_ms)"},
    {"prune", (PyCFunction)table_prune, METH_O,
     "prune(cutoff_ms) -> entries forgotten (those last seen before cutoff_ms)"},
    {"keep_newest", (PyCFunction)table_keep_newest, METH_O,
     "keep_newest(n) -> entries forgotten (all but the n most recently seen)"},
    {"__sizeof__", (PyCFunction)table_sizeof, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods table_as_sequence = {
    .sq_length = (lenfunc)table_len,
};

PyTypeObject SessionTableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "footfall._speedups.SessionTable",
    .tp_basicsize = sizeof(SessionTable),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Last-seen times of sessions by 64-bit key: 16 bytes a slot, no object per entry.",
    .tp_new = table_new,
    .tp_dealloc = (destructor)table_dealloc,
    .tp_methods = table_methods,
    .tp_as_sequence = &table_as_sequence,
};

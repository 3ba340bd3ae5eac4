// SPDX-License-Identifier: LGPL-2.1-or-later
/* Writes docs/mjpeghttpsink.md from the element's own introspection: factory
 * metadata, pad templates and caps, every property the element adds (type,
 * range, default, flags, blurb), its enums, its signals with signatures, and
 * the endpoints and bus messages from the tables below (what the element
 * serves is not visible to GObject introspection).
 *
 *   gen-element-doc gst/gstmjpeghttpsink.cpp > docs/mjpeghttpsink.md
 *
 * Each property's description is its blurb followed by the detail of the
 * gtk-doc block above it in the element's source (the file given).
 *
 * The plugin is found through GST_PLUGIN_PATH. tests/docs checks that the
 * committed page equals this program's output; `ninja -C build update-docs`
 * rewrites it. */
#include <gst/gst.h>
#include <stdlib.h>
#include <string.h>

#define ELEMENT "mjpeghttpsink"

typedef struct {
  const char *property; /* the property holding the path, or NULL */
  const char *path;     /* the default path */
  const char *serves;
} Endpoint;

static const Endpoint endpoints[] = {
    {NULL, "/",
     "The viewer page: the live stream, a snapshot button, full screen and live "
     "statistics. Self-contained HTML, no external resources. With "
     "`?action=stream` or `?action=snapshot` (mjpg-streamer's URLs) it serves the "
     "stream or the snapshot instead; another action is 400."},
    {"stream-path", NULL,
     "The MJPEG stream (`multipart/x-mixed-replace`). A new viewer gets the latest frame at "
     "once. `?fps=N` caps that viewer's rate; `?advance_headers=0|1` and "
     "`?dual_final_frames=0|1` are ustreamer's per-viewer options. 503 with `Retry-After` "
     "beyond max-clients."},
    {"snapshot-path", NULL,
     "The latest frame as one JPEG (`image/jpeg`, `X-Timestamp`, `X-Frame-Age`, "
     "`X-Source-Online`); the placeholder while the source is offline. Before the first frame "
     "it waits up to source-timeout for one (503 with `Retry-After: 1` when source-timeout is "
     "0). `?wait=next` answers the next frame after the request."},
    {NULL, "/state",
     "ustreamer's state document (JSON): the source's resolution, online and "
     "captured fps, the stream's clients."},
    {NULL, "/healthz",
     "200 while the source sends frames, 503 while it is offline (see "
     "source-timeout)."},
    {"stats-path", NULL,
     "Statistics as JSON: uptime, frame and byte counters, viewers now and in total, viewers "
     "that left by reason (`viewers_left`), and one "
     "entry per viewer (id, address, user agent, connected since, fps, frames sent and "
     "dropped, queue depth, bytes sent)."},
    {"metrics-path", NULL,
     "The same counters in the Prometheus text exposition format (`mjpeghttpsink_*`, labelled "
     "`element=\"<name>\"` and `mount`; `mjpeghttpsink_viewers_left_total` also by `reason`)."},
};

typedef struct {
  const char *name;
  const char *fields;
  const char *when;
} BusMessage;

static const BusMessage bus_messages[] = {
    {"mjpeghttpsink-client-added",
     "id (guint64), address (string, host:port), user-agent "
     "(string)",
     "a viewer started receiving the stream"},
    {"mjpeghttpsink-client-removed",
     "id (guint64), address (string), user-agent (string), reason (string: a "
     "GstMjpegHttpSinkLeaveReason nick)",
     "a viewer left, was cut off, or the server stopped"},
    {"mjpeghttpsink-source-offline",
     "lost-at (string, ISO 8601; empty when no frame came), "
     "timeout-ms (guint)",
     "no frame for source-timeout: viewers get the placeholder"},
    {"mjpeghttpsink-source-online", "(none)", "frames came back after an offline message"},
};

/* What GObject cannot say about a signal: its arguments' names and meaning. */
typedef struct {
  const char *name;
  const char *arguments[2]; /* names of the first arguments; NULL: "arg" */
  const char *doc;
} SignalNote;

static const SignalNote signal_notes[] = {
    {"client-added",
     {"address"},
     "A viewer (\"host:port\") started receiving the stream. Emitted on that viewer's own "
     "thread with no lock of the element held: keep handlers short."},
    {"client-removed",
     {"address"},
     "A viewer left, was cut off, or the server stopped. Emitted on that viewer's own thread "
     "after its connection was closed."},
    {"client-removed-with-reason",
     {"address", "reason"},
     "Right after `client-removed`, for the same viewer and on the same thread, with why it "
     "left. Detailed: the detail is the reason's nick, so a handler connected to "
     "`client-removed-with-reason::timeout` hears only of viewers cut off by client-timeout. "
     "A second signal rather than a new argument, so handlers of `client-removed` keep their "
     "signature."},
    {"get-stats",
     {NULL},
     "Returns a GstStructure `mjpeghttpsink-stats`: uptime (gdouble, s), frames-in, "
     "frames-rejected, frames-published, frames-overflowed, frames-sent, frames-dropped, "
     "bytes-served, viewers-total (guint64), num-clients (guint), viewers-left (a GstStructure "
     "with one guint64 per reason a running server counts: closed, write-error, timeout, "
     "queue-disconnect, eos) and viewers, a GstValueArray of "
     "GstStructure `mjpeghttpsink-viewer` (id, address, user-agent, connected-since, "
     "connected-seconds, fps, frames-sent, frames-dropped, bytes-sent, queue-depth). The same "
     "numbers as the stats and metrics endpoints."},
};

static const SignalNote *note_for(const char *signal) {
  for (guint i = 0; i < G_N_ELEMENTS(signal_notes); i++)
    if (g_str_equal(signal_notes[i].name, signal)) return &signal_notes[i];
  return NULL;
}

/* Markdown table cells: no newlines, escaped pipes. */
static gchar *cell(const gchar *text) {
  GString *out = g_string_new(NULL);
  for (const gchar *c = text ? text : ""; *c; c++) {
    if (*c == '|')
      g_string_append(out, "\\|");
    else if (*c == '\n')
      g_string_append_c(out, ' ');
    else
      g_string_append_c(out, *c);
  }
  return g_string_free(out, FALSE);
}

static gchar *default_path(GObjectClass *klass, const char *property) {
  GParamSpec *pspec = g_object_class_find_property(klass, property);
  if (!pspec || !G_IS_PARAM_SPEC_STRING(pspec)) return g_strdup("?");
  return g_strdup(G_PARAM_SPEC_STRING(pspec)->default_value);
}

static gchar *range_of(GParamSpec *pspec) {
  if (G_IS_PARAM_SPEC_INT(pspec))
    return g_strdup_printf("%d .. %d", G_PARAM_SPEC_INT(pspec)->minimum,
                           G_PARAM_SPEC_INT(pspec)->maximum);
  if (G_IS_PARAM_SPEC_UINT(pspec))
    return g_strdup_printf("%u .. %u", G_PARAM_SPEC_UINT(pspec)->minimum,
                           G_PARAM_SPEC_UINT(pspec)->maximum);
  if (G_IS_PARAM_SPEC_UINT64(pspec))
    return g_strdup_printf("%" G_GUINT64_FORMAT " .. %" G_GUINT64_FORMAT,
                           G_PARAM_SPEC_UINT64(pspec)->minimum,
                           G_PARAM_SPEC_UINT64(pspec)->maximum);
  if (G_IS_PARAM_SPEC_INT64(pspec))
    return g_strdup_printf("%" G_GINT64_FORMAT " .. %" G_GINT64_FORMAT,
                           G_PARAM_SPEC_INT64(pspec)->minimum, G_PARAM_SPEC_INT64(pspec)->maximum);
  if (G_IS_PARAM_SPEC_DOUBLE(pspec))
    return g_strdup_printf("%g .. %g", G_PARAM_SPEC_DOUBLE(pspec)->minimum,
                           G_PARAM_SPEC_DOUBLE(pspec)->maximum);
  if (G_IS_PARAM_SPEC_ENUM(pspec)) {
    GString *values = g_string_new(NULL);
    GEnumClass *enum_class = G_PARAM_SPEC_ENUM(pspec)->enum_class;
    for (guint i = 0; i < enum_class->n_values; i++)
      g_string_append_printf(values, "%s`%s` (%d)", i ? ", " : "", enum_class->values[i].value_nick,
                             enum_class->values[i].value);
    return g_string_free(values, FALSE);
  }
  return g_strdup("");
}

static gchar *default_of(GParamSpec *pspec) {
  const GValue *value = g_param_spec_get_default_value(pspec);
  if (G_VALUE_HOLDS_STRING(value)) {
    const gchar *text = g_value_get_string(value);
    return text ? g_strdup_printf("`\"%s\"`", text) : g_strdup("`NULL`");
  }
  if (G_VALUE_HOLDS_ENUM(value)) {
    GEnumValue *entry =
        g_enum_get_value(G_PARAM_SPEC_ENUM(pspec)->enum_class, g_value_get_enum(value));
    return g_strdup_printf("`%s`", entry ? entry->value_nick : "?");
  }
  gchar *contents = g_strdup_value_contents(value);
  gchar *text = g_strdup_printf("`%s`", contents);
  g_free(contents);
  return text;
}

static gchar *flags_of(GParamSpec *pspec) {
  GString *flags = g_string_new(NULL);
  if (pspec->flags & G_PARAM_READABLE) g_string_append(flags, "readable");
  if (pspec->flags & G_PARAM_WRITABLE)
    g_string_append(flags, flags->len ? ", writable" : "writable");
  if (pspec->flags & GST_PARAM_MUTABLE_READY)
    g_string_append(flags, ", changeable in NULL and READY");
  else if (pspec->flags & GST_PARAM_MUTABLE_PLAYING)
    g_string_append(flags, ", changeable in any state");
  return g_string_free(flags, FALSE);
}

/* The detail of a property from the gtk-doc block above it in the element's
 * source ("GstMjpegHttpSink:name:" ... "Since: x.y"), on one line, with
 * #GstMjpegHttpSink:other written as `other`; NULL without a source or a block.
 * The blurb stays short for gst-inspect; the reference page shows both. */
static gchar *property_detail(const gchar *source, const gchar *name) {
  if (!source) return NULL;
  gchar *tag = g_strdup_printf("GstMjpegHttpSink:%s:\n", name);
  const gchar *at = strstr(source, tag);
  g_free(tag);
  if (!at) return NULL;
  const gchar *end = strstr(at, "*/");
  if (!end) return NULL;
  gchar *block = g_strndup(at, end - at);
  gchar **lines = g_strsplit(block, "\n", -1);
  GString *detail = g_string_new(NULL);
  for (guint i = 1; lines[i]; i++) {
    gchar *line = g_strstrip(lines[i]);
    while (*line == '*') line++;
    line = g_strstrip(line);
    if (!*line || g_str_has_prefix(line, "Since:")) continue;
    if (detail->len) g_string_append_c(detail, ' ');
    g_string_append(detail, line);
  }
  g_strfreev(lines);
  g_free(block);
  for (gchar *ref; (ref = strstr(detail->str, "#GstMjpegHttpSink:"));) {
    const gsize start = ref - detail->str;
    gsize stop = start + strlen("#GstMjpegHttpSink:");
    while (stop < detail->len && (g_ascii_isalnum(detail->str[stop]) || detail->str[stop] == '-'))
      stop++;
    gchar *other = g_strndup(detail->str + start + strlen("#GstMjpegHttpSink:"),
                             stop - start - strlen("#GstMjpegHttpSink:"));
    g_string_erase(detail, start, stop - start);
    gchar *quoted = g_strdup_printf("`%s`", other);
    g_string_insert(detail, start, quoted);
    g_free(quoted);
    g_free(other);
  }
  return detail->len ? g_string_free(detail, FALSE) : (g_string_free(detail, TRUE), NULL);
}

static int compare_pspecs(const void *a, const void *b) {
  return strcmp((*(GParamSpec *const *)a)->name, (*(GParamSpec *const *)b)->name);
}

/* An enum's values under a heading naming the property or signal using it. */
static void print_enum(const char *heading, GType enum_type, const char *used_by) {
  GEnumClass *enum_class = g_type_class_ref(enum_type);
  g_print("%s %s (`%s`)\n\n", heading, g_type_name(enum_type), used_by);
  g_print("| Value | Nick | Meaning |\n| --- | --- | --- |\n");
  for (guint v = 0; v < enum_class->n_values; v++) {
    gchar *meaning = cell(enum_class->values[v].value_name);
    g_print("| %d | `%s` | %s |\n", enum_class->values[v].value, enum_class->values[v].value_nick,
            meaning);
    g_free(meaning);
  }
  g_print("\n");
  g_type_class_unref(enum_class);
}

static void print_properties(GType type, GObjectClass *klass, const gchar *source) {
  guint count = 0;
  GParamSpec **all = g_object_class_list_properties(klass, &count);
  GPtrArray *own = g_ptr_array_new();
  for (guint i = 0; i < count; i++)
    if (all[i]->owner_type == type) g_ptr_array_add(own, all[i]);
  qsort(own->pdata, own->len, sizeof(gpointer), compare_pspecs);

  g_print("## Properties\n\n");
  g_print("Added by %s (the ones inherited from", ELEMENT);
  for (GType parent = g_type_parent(type); parent != G_TYPE_OBJECT; parent = g_type_parent(parent))
    g_print(" %s", g_type_name(parent));
  g_print(" are documented by GStreamer). Sorted by name.\n\n");
  g_print("| Property | Type | Range | Default | Flags | Description |\n");
  g_print("| --- | --- | --- | --- | --- | --- |\n");
  for (guint i = 0; i < own->len; i++) {
    GParamSpec *pspec = own->pdata[i];
    gchar *range = range_of(pspec);
    gchar *def = default_of(pspec);
    gchar *flags = flags_of(pspec);
    gchar *detail = property_detail(source, pspec->name);
    gchar *description = detail ? g_strdup_printf("%s. %s", g_param_spec_get_blurb(pspec), detail)
                                : g_strdup(g_param_spec_get_blurb(pspec));
    gchar *blurb = cell(description);
    g_free(description);
    g_free(detail);
    gchar *range_cell = cell(range);
    g_print("| `%s` | %s | %s | %s | %s | %s |\n", pspec->name,
            g_type_name(G_PARAM_SPEC_VALUE_TYPE(pspec)), range_cell, def, flags, blurb);
    g_free(range);
    g_free(range_cell);
    g_free(def);
    g_free(flags);
    g_free(blurb);
  }
  g_print("\n");

  for (guint i = 0; i < own->len; i++) {
    GParamSpec *pspec = own->pdata[i];
    if (G_IS_PARAM_SPEC_ENUM(pspec)) print_enum("###", G_PARAM_SPEC_VALUE_TYPE(pspec), pspec->name);
  }
  g_ptr_array_unref(own);
  g_free(all);
}

static void print_signals(GType type) {
  guint count = 0;
  guint *ids = g_signal_list_ids(type, &count);
  g_print("## Signals\n\n");
  for (guint i = 0; i < count; i++) {
    GSignalQuery query;
    g_signal_query(ids[i], &query);
    GType return_type = query.return_type & ~G_SIGNAL_TYPE_STATIC_SCOPE;
    g_print("### `%s`%s\n\n```c\n%s%s\n%s (GstElement *sink", query.signal_name,
            (query.signal_flags & G_SIGNAL_ACTION) ? " (action)" : "",
            return_type == G_TYPE_NONE ? "void" : g_type_name(return_type),
            G_TYPE_IS_VALUE_TYPE(return_type) && return_type != G_TYPE_NONE &&
                    !G_TYPE_IS_FUNDAMENTAL(return_type)
                ? " *"
                : "",
            query.signal_name);
    const SignalNote *note = note_for(query.signal_name);
    for (guint p = 0; p < query.n_params; p++) {
      GType param = query.param_types[p] & ~G_SIGNAL_TYPE_STATIC_SCOPE;
      const char *name = note && p < G_N_ELEMENTS(note->arguments) && note->arguments[p]
                             ? note->arguments[p]
                             : "arg";
      if (param == G_TYPE_STRING)
        g_print(",\n    const gchar *%s", name);
      else
        g_print(",\n    %s %s", g_type_name(param), name);
    }
    g_print(");\n```\n\n");
    if (note) g_print("%s\n\n", note->doc);
    for (guint p = 0; p < query.n_params; p++) {
      GType param = query.param_types[p] & ~G_SIGNAL_TYPE_STATIC_SCOPE;
      if (G_TYPE_IS_ENUM(param)) print_enum("####", param, query.signal_name);
    }
    if (query.signal_flags & G_SIGNAL_ACTION)
      g_print("Call it with `g_signal_emit_by_name (sink, \"%s\", &result)`.\n\n",
              query.signal_name);
  }
  g_free(ids);
}

static void print_pads(GstElementFactory *factory) {
  static const char *directions[] = {"unknown", "src", "sink"};
  static const char *presences[] = {"always", "sometimes", "request"};
  g_print(
      "## Pad templates\n\n| Name | Direction | Presence | Caps |\n| --- | --- | --- | --- |\n");
  for (const GList *l = gst_element_factory_get_static_pad_templates(factory); l; l = l->next) {
    GstStaticPadTemplate *tmpl = l->data;
    GstCaps *caps = gst_static_caps_get(&tmpl->static_caps);
    gchar *text = gst_caps_to_string(caps);
    g_print("| `%s` | %s | %s | `%s` |\n", tmpl->name_template, directions[tmpl->direction],
            presences[tmpl->presence], text);
    g_free(text);
    gst_caps_unref(caps);
  }
  g_print("\n");
}

static void print_endpoints(GObjectClass *klass) {
  g_print("## Endpoints\n\n");
  g_print(
      "GET and HEAD on each path; another method gets 405 with `Allow: GET, HEAD`, another "
      "path 404. Every response has `Connection: close`.\n\n");
  g_print("| Path (default) | Set by | Serves |\n| --- | --- | --- |\n");
  for (guint i = 0; i < G_N_ELEMENTS(endpoints); i++) {
    const Endpoint *e = &endpoints[i];
    gchar *path = e->property ? default_path(klass, e->property) : g_strdup(e->path);
    gchar *serves = cell(e->serves);
    g_print("| `%s` | %s%s%s | %s |\n", path, e->property ? "`" : "",
            e->property ? e->property : "fixed", e->property ? "`" : "", serves);
    g_free(path);
    g_free(serves);
  }
  g_print(
      "\n## Bus messages\n\nElement messages posted by the sink (GstStructure name, "
      "fields):\n\n| Name | Fields | When |\n| --- | --- | --- |\n");
  for (guint i = 0; i < G_N_ELEMENTS(bus_messages); i++)
    g_print("| `%s` | %s | %s |\n", bus_messages[i].name, bus_messages[i].fields,
            bus_messages[i].when);
  g_print("\n");
}

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  GstElementFactory *factory = gst_element_factory_find(ELEMENT);
  if (!factory) {
    g_printerr(ELEMENT " not found: set GST_PLUGIN_PATH to the build's gst directory\n");
    return EXIT_FAILURE;
  }
  GType type = gst_element_factory_get_element_type(factory);
  if (type == G_TYPE_INVALID) {
    GstPluginFeature *loaded = gst_plugin_feature_load(GST_PLUGIN_FEATURE(factory));
    gst_object_unref(factory);
    factory = GST_ELEMENT_FACTORY(loaded);
    type = gst_element_factory_get_element_type(factory);
  }
  GObjectClass *klass = g_type_class_ref(type);
  /* The element's source, for the detail of each property (argument 1). */
  gchar *source = NULL;
  if (argc > 1 && !g_file_get_contents(argv[1], &source, NULL, NULL)) {
    g_printerr("cannot read %s\n", argv[1]);
    return EXIT_FAILURE;
  }

  g_print(
      "<!-- Generated by tools/gen-element-doc.c from the element's introspection. "
      "Do not edit: run `ninja -C build update-docs`. -->\n\n");
  g_print("# %s\n\n", ELEMENT);
  g_print("%s.\n\n", gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_DESCRIPTION));
  g_print("| | |\n| --- | --- |\n");
  g_print("| Long name | %s |\n",
          gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_LONGNAME));
  g_print("| Class | %s |\n",
          gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_KLASS));
  g_print("| Rank | %u |\n", gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(factory)));
  g_print("| Plugin | %s |\n", gst_plugin_feature_get_plugin_name(GST_PLUGIN_FEATURE(factory)));
  g_print("| Type | %s, a %s |\n\n", g_type_name(type), g_type_name(g_type_parent(type)));

  print_pads(factory);
  print_properties(type, klass, source);
  print_signals(type);
  print_endpoints(klass);

  g_free(source);
  g_type_class_unref(klass);
  gst_object_unref(factory);
  return EXIT_SUCCESS;
}

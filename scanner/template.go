package scanner

import (
	"strings"
	"text/template"
	"text/template/parse"
)

// maxSummaryBytes caps a rendered summary, so a template over a long line
// cannot produce a message no sink accepts.
const maxSummaryBytes = 2000

// templateFields lists the {{.field}} names a template uses.
func templateFields(t *template.Template) []string {
	var out []string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			out = append(out, n.Ident[0])
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	if t.Tree != nil {
		walk(t.Tree.Root)
	}
	return out
}

// renderSummary executes a rule's summary template over fields. A template
// that fails at run time yields its source text, so an alert is never lost
// to a bad template.
func renderSummary(t *template.Template, text string, fields map[string]string) string {
	if t == nil {
		return text
	}
	var b strings.Builder
	if err := t.Execute(&limitedWriter{b: &b, n: maxSummaryBytes}, templateData(fields)); err != nil && b.Len() == 0 {
		return text
	}
	return b.String()
}

// templateData nests the "fields.<key>" entries under "fields", so a
// template reads a parsed field as {{.fields.key}}.
func templateData(fields map[string]string) map[string]any {
	data := make(map[string]any, len(fields)+1)
	parsed := map[string]string{}
	for k, v := range fields {
		if key, ok := strings.CutPrefix(k, "fields."); ok {
			parsed[key] = v
			continue
		}
		data[k] = v
	}
	data["fields"] = parsed
	return data
}

// limitedWriter keeps the first n bytes written and discards the rest.
type limitedWriter struct {
	b *strings.Builder
	n int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if room := w.n - w.b.Len(); room > 0 {
		w.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

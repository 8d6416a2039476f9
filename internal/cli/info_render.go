package cli

// The renderer of the info layer's view models, in the format of Argo's CLI.

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ANSI colours, as Argo uses them.
const (
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiHiBlue = "\x1b[94m"
	ansiReset  = "\x1b[0m"
)

// headerFormat is Argo's header-line format: a 17-column label, then the value.
const headerFormat = "%-17s%v\n"

// painter colours text, or does nothing with --no-color.
type painter struct{ color bool }

func (p painter) paint(color, s string) string {
	if !p.color || color == "" || s == "" {
		return s
	}
	return color + s + ansiReset
}

// glyphColor is the colour of a status icon: green OK, red bad, yellow progressing or
// waiting, blue paused.
func glyphColor(glyph string) string {
	switch glyph {
	case glyphOK:
		return ansiGreen
	case glyphBad, glyphWarning:
		return ansiRed
	case glyphProgressing, glyphWaiting, glyphUnknown:
		return ansiYellow
	case glyphPaused:
		return ansiBlue
	}
	return ""
}

// tagColor is the colour of an INFO tag: canary yellow, stable/active green,
// preview/ping/pong hi-blue.
func tagColor(tag string) string {
	switch tag {
	case tagCanary:
		return ansiYellow
	case tagStable, tagActive:
		return ansiGreen
	case tagPreview, "ping", "pong":
		return ansiHiBlue
	}
	return ""
}

// status is "<icon> <status>" with the icon coloured.
func (p painter) status(icon, status string) cell {
	return cell{plain: icon + " " + status, colored: p.paint(glyphColor(icon), icon) + " " + status}
}

// info joins INFO items with commas, colouring role tags and the icons of analysis counts.
func (p painter) info(items []string) cell {
	colored := make([]string, len(items))
	for i, it := range items {
		if c := tagColor(it); c != "" {
			colored[i] = p.paint(c, it)
			continue
		}
		if g, rest, ok := strings.Cut(it, " "); ok && glyphColor(g) != "" {
			colored[i] = p.paint(glyphColor(g), g) + " " + rest
			continue
		}
		colored[i] = it
	}
	return cell{plain: strings.Join(items, ","), colored: strings.Join(colored, ",")}
}

// cell is a table cell: its width is that of plain; colored is what is printed.
type cell struct{ plain, colored string }

func text(s string) cell { return cell{plain: s, colored: s} }

// writeTable aligns cells in columns two spaces apart, like a tabwriter, measuring widths
// without the colour escapes; trailing spaces are trimmed.
func writeTable(w io.Writer, rows [][]cell) error {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c.plain))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			line.WriteString(c.colored)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.plain)+2))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// renderRollout prints the header block and the tree of `get rollout`.
func renderRollout(w io.Writer, v *rolloutView, color bool) error {
	p := painter{color: color}
	var b strings.Builder
	fmt.Fprintf(&b, headerFormat, "Name:", v.Name)
	fmt.Fprintf(&b, headerFormat, "Namespace:", v.Namespace)
	fmt.Fprintf(&b, headerFormat, "Status:", p.status(v.Icon, v.Status).colored)
	if v.Message != "" {
		fmt.Fprintf(&b, headerFormat, "Message:", v.Message)
	}
	fmt.Fprintf(&b, headerFormat, "Strategy:", v.Strategy)
	if v.Strategy == "Canary" {
		if v.Step != "" {
			fmt.Fprintf(&b, headerFormat, "  Step:", v.Step)
		}
		fmt.Fprintf(&b, headerFormat, "  SetWeight:", v.SetWeight)
		fmt.Fprintf(&b, headerFormat, "  ActualWeight:", v.ActualWeight)
	}
	writeImages(&b, p, v.Images)
	fmt.Fprintf(&b, headerFormat, "Replicas:", "")
	fmt.Fprintf(&b, headerFormat, "  Desired:", v.Desired)
	fmt.Fprintf(&b, headerFormat, "  Current:", v.Current)
	fmt.Fprintf(&b, headerFormat, "  Updated:", v.Updated)
	fmt.Fprintf(&b, headerFormat, "  Ready:", v.Ready)
	fmt.Fprintf(&b, headerFormat, "  Available:", v.Available)
	b.WriteByte('\n')
	if _, err := io.WriteString(w, trimLines(b.String())); err != nil {
		return err
	}

	t := &treeWriter{p: p}
	t.row("", "", glyphRollout+" "+v.Name, "Rollout", p.status(v.Icon, v.Status), v.Age, nil)
	for i, r := range v.Revisions {
		last := i == len(v.Revisions)-1
		t.row("", branch(last), fmt.Sprintf("%s revision:%d", glyphRevision, r.Revision), "", text(""), "", nil)
		t.revisionChildren(indent("", last), r)
	}
	return writeTable(w, t.rows)
}

// renderExperiment prints the header block and the tree of `get experiment`.
func renderExperiment(w io.Writer, v *experimentView, color bool) error {
	p := painter{color: color}
	var b strings.Builder
	fmt.Fprintf(&b, headerFormat, "Name:", v.Name)
	fmt.Fprintf(&b, headerFormat, "Namespace:", v.Namespace)
	fmt.Fprintf(&b, headerFormat, "Status:", p.status(v.Icon, v.Status).colored)
	if v.Message != "" {
		fmt.Fprintf(&b, headerFormat, "Message:", v.Message)
	}
	writeImages(&b, p, v.Images)
	b.WriteByte('\n')
	if _, err := io.WriteString(w, trimLines(b.String())); err != nil {
		return err
	}
	t := &treeWriter{p: p}
	t.experiment("", "", *v)
	return writeTable(w, t.rows)
}

func writeImages(b *strings.Builder, p painter, images []imageView) {
	label := "Images:"
	for _, img := range images {
		s := img.Image
		if len(img.Tags) > 0 {
			tags := make([]string, len(img.Tags))
			for i, t := range img.Tags {
				tags[i] = p.paint(tagColor(t), t)
			}
			s = fmt.Sprintf("%s (%s)", img.Image, strings.Join(tags, ", "))
		}
		fmt.Fprintf(b, headerFormat, label, s)
		label = ""
	}
	if len(images) == 0 {
		fmt.Fprintf(b, headerFormat, label, "")
	}
}

func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func branch(last bool) string {
	if last {
		return "└──"
	}
	return "├──"
}

func indent(prefix string, last bool) string {
	if last {
		return prefix + "   "
	}
	return prefix + "│  "
}

// treeWriter collects the rows of a tree: NAME KIND STATUS AGE INFO.
type treeWriter struct {
	p    painter
	rows [][]cell
}

func (t *treeWriter) row(prefix, br, name, kind string, status cell, age string, info []string) {
	if t.rows == nil {
		t.rows = append(t.rows, []cell{text("NAME"), text("KIND"), text("STATUS"), text("AGE"), text("INFO")})
	}
	t.rows = append(t.rows, []cell{text(prefix + br + name), text(kind), status, text(age), t.p.info(info)})
}

func (t *treeWriter) revisionChildren(prefix string, r revisionView) {
	n := len(r.ReplicaSets) + len(r.Experiments) + len(r.AnalysisRuns)
	k := 0
	next := func() bool { k++; return k == n }
	for _, rs := range r.ReplicaSets {
		t.replicaSet(prefix, next(), rs)
	}
	for _, ex := range r.Experiments {
		t.experiment(prefix, branch(next()), ex)
	}
	for _, ar := range r.AnalysisRuns {
		t.analysisRun(prefix, next(), ar)
	}
}

func (t *treeWriter) replicaSet(prefix string, last bool, rs replicaSetView) {
	t.row(prefix, branch(last), glyphReplicaSet+" "+rs.Name, "ReplicaSet", t.p.status(rs.Icon, rs.Status), rs.Age, rs.Info)
	child := indent(prefix, last)
	for i, pod := range rs.Pods {
		t.row(child, branch(i == len(rs.Pods)-1), glyphPod+" "+pod.Name, "Pod", t.p.status(pod.Icon, pod.Status), pod.Age, pod.Info())
	}
}

func (t *treeWriter) analysisRun(prefix string, last bool, ar analysisRunView) {
	t.row(prefix, branch(last), glyphAnalysisRun+" "+ar.Name, "AnalysisRun", t.p.status(ar.Icon, ar.Status), ar.Age, ar.Info())
}

// experiment prints an Experiment node; br is "" at the root of `get experiment`.
func (t *treeWriter) experiment(prefix, br string, ex experimentView) {
	t.row(prefix, br, glyphExperiment+" "+ex.Name, "Experiment", t.p.status(ex.Icon, ex.Status), ex.Age, nil)
	child := prefix
	if br != "" {
		child = indent(prefix, br == branch(true))
	}
	n := len(ex.ReplicaSets) + len(ex.AnalysisRuns)
	k := 0
	for _, rs := range ex.ReplicaSets {
		k++
		t.replicaSet(child, k == n, rs)
	}
	for _, ar := range ex.AnalysisRuns {
		k++
		t.analysisRun(child, k == n, ar)
	}
}

// renderList prints `list rollouts`: NAMESPACE (with -A) NAME STRATEGY STATUS STEP
// SET-WEIGHT READY DESIRED UP-TO-DATE AVAILABLE.
func renderList(w io.Writer, rows []listRow, allNamespaces bool) error {
	table := [][]cell{listCells(listHeader(), allNamespaces)}
	for _, r := range rows {
		table = append(table, listCells(r.cells(), allNamespaces))
	}
	return writeTable(w, table)
}

func listHeader() []string {
	return []string{"NAMESPACE", "NAME", "STRATEGY", "STATUS", "STEP", "SET-WEIGHT", "READY", "DESIRED", "UP-TO-DATE", "AVAILABLE"}
}

func (r listRow) cells() []string {
	return []string{r.Namespace, r.Name, r.Strategy, r.Status, r.Step, r.SetWeight, r.Ready,
		fmt.Sprint(r.Desired), fmt.Sprint(r.UpToDate), fmt.Sprint(r.Available)}
}

func listCells(s []string, allNamespaces bool) []cell {
	if !allNamespaces {
		s = s[1:]
	}
	out := make([]cell, len(s))
	for i, x := range s {
		out[i] = text(x)
	}
	return out
}

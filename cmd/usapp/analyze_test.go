package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/usapp/usapp/analysis"
	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/analysis/report"
	"github.com/usapp/usapp/framework"
)

const evModel = "../../examples/ev-charging.yaml"

// parseAnalyze parses "usapp analyze ARGS" with the real flag definitions
// and returns the parsed cli and the selected command path.
func parseAnalyze(t *testing.T, args ...string) (*cli, string) {
	t.Helper()
	return parseCLI(t, append([]string{"analyze"}, args...)...)
}

func analyzeRun(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	c, cmd := parseAnalyze(t, args...)
	if !strings.HasPrefix(cmd, "analyze run") {
		t.Fatalf("%v selected %q, want analyze run", args, cmd)
	}
	var out, errb bytes.Buffer
	err = c.Analyze.Run.run(t.Context(), &out, &errb)
	return out.String(), errb.String(), err
}

func TestAnalyzeRouting(t *testing.T) {
	if _, cmd := parseAnalyze(t, evModel); cmd != "analyze run <model>" {
		t.Errorf("analyze MODEL -> %q", cmd)
	}
	if _, cmd := parseAnalyze(t, evModel, "--format", "json"); cmd != "analyze run <model>" {
		t.Errorf("analyze MODEL --format json -> %q", cmd)
	}
	if _, cmd := parseAnalyze(t, "diff", "a.yaml", "b.yaml"); cmd != "analyze diff <old> <new>" {
		t.Errorf("analyze diff -> %q", cmd)
	}
}

func TestAnalyzeMarkdown(t *testing.T) {
	out, _, err := analyzeRun(t, evModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# USaPP analysis: ev-charging", "## Summary", "## Threats × classes", "### Open (",
		"## Minimum set", "## Cascade ranking", "`EV.replay`"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

func TestAnalyzeJSON(t *testing.T) {
	out, _, err := analyzeRun(t, evModel, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep analysis.Report
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.Version != 1 || rep.Model != "ev-charging" || len(rep.Findings) == 0 || len(rep.MinimumSet.Controls) == 0 {
		t.Errorf("report: version %d model %q, %d findings, %d minimum-set controls",
			rep.Version, rep.Model, len(rep.Findings), len(rep.MinimumSet.Controls))
	}
}

func TestAnalyzeHTMLToFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ev.html")
	out, _, err := analyzeRun(t, evModel, "--format", "html", "--out", path)
	if err != nil {
		t.Fatal(err)
	}
	if out != "" {
		t.Errorf("--out still wrote %d bytes to stdout", len(out))
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ids := svgIDs(t, page)
	for _, id := range []string{"grid", "flows", "threat-class"} {
		if !slices.Contains(ids, id) {
			t.Errorf("no <svg id=%q> in %v", id, ids)
		}
	}
	// Every component of the model is a node of the flow figure.
	for _, comp := range []string{"ua-evse", "ua-meter", "ua-gateway"} {
		if !bytes.Contains(page, []byte(">"+comp+"<")) {
			t.Errorf("flow figure lacks component %s", comp)
		}
	}
}

// svgIDs parses the page as strict XML and returns the ids of its <svg>s.
func svgIDs(t *testing.T, page []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(page))
	dec.Strict = true
	var ids []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return ids
		}
		if err != nil {
			t.Fatalf("page is not well-formed: %v", err)
		}
		if el, ok := tok.(xml.StartElement); ok {
			if el.Name.Local == "script" || el.Name.Local == "link" {
				t.Errorf("page holds <%s>", el.Name.Local)
			}
			for _, a := range el.Attr {
				if el.Name.Local == "svg" && a.Name.Local == "id" {
					ids = append(ids, a.Value)
				}
			}
		}
	}
}

func TestAnalyzeFailOn(t *testing.T) {
	// ev-charging leaves replay attacks open with residual risk 20.
	out, _, err := analyzeRun(t, evModel, "--fail-on", "high")
	if !errors.Is(err, errFailOn) {
		t.Fatalf("--fail-on high: err = %v", err)
	}
	var h interface{ Hint() string }
	if !errors.As(err, &h) || h.Hint() == "" {
		t.Error("fail-on error carries no hint")
	}
	if !strings.Contains(out, "## Summary") {
		t.Error("the report is not written before failing")
	}
	if _, _, err := analyzeRun(t, evModel, "--fail-on", "urgent"); !errors.Is(err, report.ErrSeverity) {
		t.Errorf("--fail-on urgent: err = %v", err)
	}
}

func TestAnalyzeFailOnExitCode(t *testing.T) {
	usappBinary(t)
	model := filepath.Join(modRoot, "examples", "ev-charging.yaml")
	_, errs, code := runUsapp(t, t.TempDir(), "analyze", model, "--fail-on", "medium", "--format", "json")
	if code == 0 || !strings.HasPrefix(errs, "usapp: ") || !strings.Contains(errs, "hint: ") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if _, errs, code := runUsapp(t, t.TempDir(), "analyze", model, "--format", "json"); code != 0 {
		t.Errorf("without --fail-on: exit %d, stderr %q", code, errs)
	}
	_, errs, code = runUsapp(t, t.TempDir(), "analyze", "missing.yaml")
	if code == 0 || !strings.HasPrefix(errs, "usapp: ") || !strings.Contains(errs, "hint: ") {
		t.Errorf("missing model: exit %d, stderr %q", code, errs)
	}
}

func TestAnalyzeAgainst(t *testing.T) {
	m, err := model.Load(evModel)
	if err != nil {
		t.Fatal(err)
	}
	// The role runs the model's first control and one the model does not
	// name; it lacks the rest.
	have, extra := m.Controls[0].ID, framework.ControlID("A3.traffic-padding")
	if slices.ContainsFunc(m.Controls, func(c model.Control) bool { return c.ID == extra }) {
		t.Fatalf("the example now deploys %s: pick another extra control", extra)
	}
	srv := httptest.NewServer(http.StripPrefix("/role", mux("/controls", framework.ControlsHandler("gateway", func() []framework.Active {
		return []framework.Active{{ID: extra}, {ID: have, Params: map[string]string{"k": "v"}}}
	}))))
	defer srv.Close()
	out, _, err := analyzeRun(t, evModel, "--against", srv.URL+"/role/")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(out, "## Deployment check: role `gateway`")
	if i < 0 {
		t.Fatalf("no deployment check in\n%s", out)
	}
	check := out[i:]
	if !strings.Contains(check, "Running but not in the model: `"+string(extra)+"`\n") {
		t.Errorf("extra control not reported:\n%s", check)
	}
	if strings.Contains(check, "`"+string(have)+"`") {
		t.Errorf("a control both sides have is reported:\n%s", check)
	}
	for _, c := range m.Controls {
		if c.ID != have && !strings.Contains(check, "`"+string(c.ID)+"`") {
			t.Errorf("missing control %s not reported:\n%s", c.ID, check)
		}
	}
	// In JSON the report stays the contract and the check goes to stderr.
	out, errs, err := analyzeRun(t, evModel, "--against", srv.URL+"/role", "--format", "json")
	if err != nil || !strings.Contains(errs, "Deployment check") || strings.Contains(out, "Deployment check") {
		t.Errorf("json: err %v, stderr %q", err, errs)
	}
}

func mux(path string, h http.Handler) http.Handler {
	m := http.NewServeMux()
	m.Handle(path, h)
	return m
}

func TestAnalyzeAgainstErrors(t *testing.T) {
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/controls":
			w.Write([]byte(`{"version":2,"role":"x","controls":[]}`))
		case "/bad-id/controls":
			w.Write([]byte(`{"version":1,"role":"x","controls":[{"id":"Z9.nope"}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer bad.Close()
	for _, base := range []string{bad.URL, bad.URL + "/v2", bad.URL + "/bad-id", "ftp://example.invalid", "::"} {
		_, _, err := analyzeRun(t, evModel, "--against", base)
		if !errors.Is(err, framework.ErrControlsAnswer) {
			t.Errorf("--against %s: err = %v, want framework.ErrControlsAnswer", base, err)
		}
	}
}

// A CA serves GET /controls over https with its own root: --against-root
// trusts it, and without it the error says to pass it.
func TestAnalyzeAgainstAnHTTPSRole(t *testing.T) {
	srv := httptest.NewTLSServer(mux("/controls", framework.ControlsHandler("ca", func() []framework.Active {
		return []framework.Active{{ID: framework.Revocation}}
	})))
	defer srv.Close()
	_, _, err := analyzeRun(t, evModel, "--against", srv.URL)
	var h *hintError
	if !errors.As(err, &h) || !strings.Contains(h.hint, "--against-root") {
		t.Fatalf("https role without its root: %v, want a hint to pass --against-root", err)
	}
	root := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(root, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := analyzeRun(t, evModel, "--against", srv.URL, "--against-root", root)
	if err != nil || !strings.Contains(out, "## Deployment check: role `ca`") {
		t.Fatalf("with --against-root: %v\n%s", err, out)
	}
}

func TestAnalyzeDiff(t *testing.T) {
	dir := t.TempDir()
	oldJSON := filepath.Join(dir, "old.json")
	if _, _, err := analyzeRun(t, evModel, "--format", "json", "--out", oldJSON); err != nil {
		t.Fatal(err)
	}
	// Pretend the earlier analysis knew one finding more and had another
	// still open.
	var rep analysis.Report
	data, _ := os.ReadFile(oldJSON)
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	gone := rep.Findings[0]
	gone.ID = "retired/rule/x"
	rep.Findings = append(rep.Findings, gone)
	var mitigated string
	for i, f := range rep.Findings {
		if f.Status == analysis.Mitigated {
			rep.Findings[i].Status, rep.Findings[i].MitigatedBy, mitigated = analysis.Open, nil, f.ID
			break
		}
	}
	var b bytes.Buffer
	if err := report.JSON(&b, &rep); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(oldJSON, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	c, cmd := parseAnalyze(t, "diff", oldJSON, evModel, "--format", "json")
	if cmd != "analyze diff <old> <new>" {
		t.Fatalf("selected %q", cmd)
	}
	var out bytes.Buffer
	if err := c.Analyze.Diff.run(&out); err != nil {
		t.Fatal(err)
	}
	var d report.Delta
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id string
		ch report.Change
	}{{mitigated, report.Changed}, {"retired/rule/x", report.Removed}}
	if len(d.Findings) != 2 {
		t.Fatalf("finding changes %+v", d.Findings)
	}
	for _, w := range want {
		if !slices.ContainsFunc(d.Findings, func(f report.FindingChange) bool { return f.ID == w.id && f.Change == w.ch }) {
			t.Errorf("no %s change for %s in %+v", w.ch, w.id, d.Findings)
		}
	}

	c, _ = parseAnalyze(t, "diff", evModel, evModel)
	out.Reset()
	if err := c.Analyze.Diff.run(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "No changes.") {
		t.Errorf("a model against itself:\n%s", out.String())
	}
}

// Every example model analyses and renders in every format.
func TestAnalyzeExamples(t *testing.T) {
	models, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(models) < 2 {
		t.Fatalf("examples: %v %v", models, err)
	}
	for _, m := range models {
		for _, format := range []string{"md", "html", "json"} {
			out, _, err := analyzeRun(t, m, "--format", format)
			if err != nil || len(out) == 0 {
				t.Errorf("%s --format %s: %v (%d bytes)", m, format, err, len(out))
			}
			if format == "html" && len(svgIDs(t, []byte(out))) != 3 {
				t.Errorf("%s: want three figures", m)
			}
		}
	}
}

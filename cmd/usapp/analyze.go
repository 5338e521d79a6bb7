package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/usapp/usapp/analysis"
	"github.com/usapp/usapp/analysis/catalogue"
	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/analysis/report"
	"github.com/usapp/usapp/framework"
)

// analyzeCmd is a command group whose "run" subcommand is the default with
// arguments (kong's default:"withargs"): "usapp analyze MODEL" runs it, and
// "usapp analyze diff OLD NEW" compares. A model file literally named "diff"
// must be given as "./diff" or with "usapp analyze run diff".
type analyzeCmd struct {
	Run  analyzeRunCmd  `cmd:"" default:"withargs" help:"Analyse a model and render the report (the default: 'usapp analyze MODEL')."`
	Diff analyzeDiffCmd `cmd:"" help:"Compare two analyses: models (.yaml) or JSON reports (.json)."`
}

// Exit thresholds of --fail-on on the residual risk (1–25) of a threat with
// an open finding: see report.HighFrom, MediumFrom, LowFrom (15, 8, 1).
type analyzeRunCmd struct {
	Model     string   `arg:"" help:"Model file (YAML)." placeholder:"MODEL"`
	Catalogue []string `name:"catalogue" help:"Catalogue files extending or overriding the embedded catalogue (repeatable)." placeholder:"FILE" sep:"none"`
	Format    string   `help:"Output format: md, html or json." default:"md" enum:"md,html,json"`
	Out       string   `help:"Write the report to this file instead of standard output." type:"path" placeholder:"FILE"`
	FailOn    string   `name:"fail-on" help:"Exit non-zero when an open finding's threat has residual risk at or above: high (>= 15), medium (>= 8) or low (>= 1)." placeholder:"high|medium|low"`
	Against   string   `help:"Base URL of a running USaPP role: compare its GET /controls with the model's controls." placeholder:"URL"`
	// AgainstRoot is what makes a CA's /controls (served over https with its
	// own root) reachable at all.
	AgainstRoot string `name:"against-root" help:"PEM file of the CA root that an https --against role's certificate chains to (the role's ca.root_file)." type:"existingfile" placeholder:"FILE"`
}

type analyzeDiffCmd struct {
	Old       string   `arg:"" help:"The earlier model (.yaml) or JSON report (.json)." placeholder:"OLD"`
	New       string   `arg:"" help:"The later model (.yaml) or JSON report (.json)." placeholder:"NEW"`
	Catalogue []string `name:"catalogue" help:"Catalogue files extending the embedded catalogue (repeatable)." placeholder:"FILE" sep:"none"`
	Format    string   `help:"Output format: md or json." default:"md" enum:"md,json"`
	Out       string   `help:"Write the changes to this file instead of standard output." type:"path" placeholder:"FILE"`
}

var errFailOn = errors.New("open findings at or above the --fail-on level")

func (c *analyzeRunCmd) Run(g *globals) error { return c.run(g.ctx, os.Stdout, os.Stderr) }

func (c *analyzeRunCmd) run(ctx context.Context, stdout, stderr io.Writer) error {
	var threshold report.Severity
	if c.FailOn != "" {
		s, err := report.ParseSeverity(c.FailOn)
		if err != nil {
			return hinted(err, "--fail-on takes high (risk >= 15), medium (>= 8) or low (>= 1)")
		}
		threshold = s
	}
	m, cat, err := loadInputs(c.Model, c.Catalogue)
	if err != nil {
		return err
	}
	rep, err := analysis.Analyze(m, cat, analysis.Options{})
	if err != nil {
		return hinted(fmt.Errorf("analyse %s: %w", c.Model, err), "check that every control the model names is in the catalogue")
	}
	var drift *report.Drift
	if c.Against != "" {
		d, err := fetchDrift(ctx, c.Against, c.AgainstRoot, m)
		if err != nil {
			return err
		}
		drift = &d
	}
	err = writeOut(c.Out, stdout, func(w io.Writer) error {
		if err := render(w, c.Format, rep, m, cat); err != nil {
			return err
		}
		if drift != nil && c.Format == "md" {
			return report.DriftMarkdown(w, drift)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if drift != nil && c.Format != "md" { // keep the JSON contract and the page untouched
		if err := report.DriftMarkdown(stderr, drift); err != nil {
			return err
		}
	}
	return checkFailOn(rep, threshold)
}

func render(w io.Writer, format string, rep *analysis.Report, m *model.Model, c *catalogue.Catalogue) error {
	switch format {
	case "html":
		return report.HTML(w, rep, m, c)
	case "json":
		return report.JSON(w, rep)
	}
	return report.Markdown(w, rep, m, c)
}

func checkFailOn(rep *analysis.Report, threshold report.Severity) error {
	if threshold == report.None {
		return nil
	}
	id, risk := report.MaxOpenResidual(rep)
	if id == "" || report.SeverityOf(risk) < threshold {
		return nil
	}
	return hinted(fmt.Errorf("%w: threat %s has residual risk %.4g (%s)", errFailOn, id, risk, report.SeverityOf(risk)),
		"deploy a control that mitigates it, mark the finding not_applicable with a reason, or raise --fail-on")
}

func loadInputs(modelFile string, catFiles []string) (*model.Model, *catalogue.Catalogue, error) {
	m, err := model.Load(modelFile)
	if err != nil {
		return nil, nil, hinted(err, "fix the model at the file:line shown; 'usapp analyze' needs a model that validates")
	}
	cat, err := catalogue.Load(catFiles...)
	if err != nil {
		return nil, nil, hinted(err, "fix the --catalogue file at the file:line shown, or drop it to use the embedded catalogue")
	}
	return m, cat, nil
}

// writeOut runs fn on standard output, or on a file that replaces path only
// once fn succeeded, so a failed run never leaves half a report behind.
func writeOut(path string, stdout io.Writer, fn func(io.Writer) error) error {
	if path == "" {
		return fn(stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return hinted(err, "check that the --out directory exists and is writable")
	}
	defer os.Remove(f.Name()) // no-op after the rename
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	// CreateTemp makes the file private; a report is meant to be shared.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// fetchDrift asks a running role which controls it runs and compares them
// with the model's. root, when set, is the PEM file of the CA root an https
// role's certificate chains to (a USaPP CA's, ca.root_file).
func fetchDrift(ctx context.Context, base, root string, m *model.Model) (report.Drift, error) {
	client := http.DefaultClient
	if root != "" {
		pem, err := os.ReadFile(root)
		if err != nil {
			return report.Drift{}, hinted(err, "--against-root takes the PEM file of the CA root (a role's ca.root_file)")
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return report.Drift{}, hinted(fmt.Errorf("%s: no PEM certificate", root), "--against-root takes the PEM file of the CA root (a role's ca.root_file)")
		}
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	}
	role, active, err := framework.FetchControls(ctx, client, base)
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.As(err, &unknown):
		return report.Drift{}, hinted(err, "the role's certificate is from a USaPP CA: pass its root with --against-root (the role's ca.root_file)")
	case errors.Is(err, framework.ErrControlsAnswer):
		return report.Drift{}, hinted(err, "--against takes a USaPP role's base URL, e.g. http://127.0.0.1:8080 (a head-end) or https://127.0.0.1:8443 (a CA)")
	case err != nil:
		return report.Drift{}, hinted(err, "is the role running and serving GET /controls?")
	}
	return report.CompareDeployment(m, role, active), nil
}

func (c *analyzeDiffCmd) Run(*globals) error { return c.run(os.Stdout) }

func (c *analyzeDiffCmd) run(stdout io.Writer) error {
	var cat *catalogue.Catalogue
	reports := make([]*analysis.Report, 2)
	for i, path := range []string{c.Old, c.New} {
		rep, err := loadReport(path, c.Catalogue, &cat)
		if err != nil {
			return err
		}
		reports[i] = rep
	}
	d := report.Diff(reports[0], reports[1])
	return writeOut(c.Out, stdout, func(w io.Writer) error {
		if c.Format == "json" {
			return report.DeltaJSON(w, &d)
		}
		return report.DeltaMarkdown(w, &d)
	})
}

// maxReportFile bounds a JSON report read for diff.
const maxReportFile = 64 << 20

// loadReport reads a JSON report (by its .json extension) or analyses a
// model; the catalogue is loaded once, on first need.
func loadReport(path string, catFiles []string, cat **catalogue.Catalogue) (*analysis.Report, error) {
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return readReport(path)
	}
	m, err := model.Load(path)
	if err != nil {
		return nil, hinted(err, "fix the model at the file:line shown")
	}
	if *cat == nil {
		if *cat, err = catalogue.Load(catFiles...); err != nil {
			return nil, hinted(err, "fix the --catalogue file at the file:line shown")
		}
	}
	rep, err := analysis.Analyze(m, *cat, analysis.Options{})
	if err != nil {
		return nil, hinted(fmt.Errorf("analyse %s: %w", path, err), "check that every control the model names is in the catalogue")
	}
	return rep, nil
}

func readReport(path string) (*analysis.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, hinted(err, "give two models (.yaml) or two reports from 'usapp analyze --format json'")
	}
	defer f.Close()
	var rep analysis.Report
	dec := json.NewDecoder(io.LimitReader(f, maxReportFile))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		return nil, hinted(fmt.Errorf("read report %s: %w", path, err), "a .json file must be a report from 'usapp analyze --format json'")
	}
	if rep.Version != 1 {
		return nil, hinted(fmt.Errorf("read report %s: version %d, want 1", path, rep.Version), "re-run 'usapp analyze --format json' with this usapp")
	}
	return &rep, nil
}

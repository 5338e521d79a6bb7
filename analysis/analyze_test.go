package analysis

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/usapp/usapp/analysis/catalogue"
	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/internal/modroot"
)

func loadExample(t testing.TB, name string) *model.Model {
	t.Helper()
	m, err := model.Load(filepath.Join(modroot.Dir(t), "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func defaultCatalogue(t testing.TB) *catalogue.Catalogue {
	t.Helper()
	c, err := catalogue.Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func finding(r *Report, id string) (Finding, bool) {
	i := slices.IndexFunc(r.Findings, func(f Finding) bool { return f.ID == id })
	if i < 0 {
		return Finding{}, false
	}
	return r.Findings[i], true
}

func TestAnalyzeEVCharging(t *testing.T) {
	m, c := loadExample(t, "ev-charging.yaml"), defaultCatalogue(t)
	r, err := Analyze(m, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 1 || r.Model != "ev-charging" {
		t.Fatalf("header %d %q", r.Version, r.Model)
	}
	for _, id := range []string{
		"unauthenticated-price-signal/EV.false-price-signal/uta-price",
		"replayable-signal/EV.replay/evagg-cs",
		"replayable-signal/EV.replay/dso-network-state",
		"hop-only-encryption/EV.sensitive-data-disclosure/evse-to-utb",
		"attributable-location/EV.identity-location-privacy/evb-telemetry",
		"single-party-command/NESCOR.AMI-01/uta-meter-command",
	} {
		f, ok := finding(r, id)
		if !ok {
			t.Errorf("missing finding %s", id)
			continue
		}
		if f.Status != Open {
			t.Errorf("%s: status %s, want open", id, f.Status)
		}
	}
	// ua-meter's keys: the EV example deploys no key protection, but
	// home-metering does (tested below); here C2.spheres-of-control at the
	// gateway does not answer key storage.
	if f, ok := finding(r, "key-storage/EV.poor-key-storage/ua-meter"); !ok || f.Status != Open {
		t.Errorf("key storage at ua-meter: %+v", f)
	}
	// Signed price-to-hems is not a false-price finding.
	if _, ok := finding(r, "unauthenticated-price-signal/EV.false-price-signal/price-to-hems"); ok {
		t.Error("authenticated price-to-hems raised a false price signal")
	}
	for i, f := range r.Findings {
		if i > 0 && r.Findings[i-1].ID >= f.ID {
			t.Fatalf("findings not sorted/unique at %s", f.ID)
		}
	}
	checkMinimumSetCovers(t, c, r)
	if len(r.Cascade) == 0 {
		t.Fatal("empty cascade")
	}
	top := []string{}
	for _, e := range r.Cascade[:min(3, len(r.Cascade))] {
		top = append(top, e.Component)
	}
	if !slices.ContainsFunc(top, func(id string) bool { return id == "uta-headend" || id == "evagg-platform" }) {
		t.Errorf("cascade top 3 = %v, want the head-end or EVAGG among them", top)
	}
	// C2.spheres-of-control is deployed and C1.collection-limits proposed:
	// both minimise data against disclosure.
	if !slices.ContainsFunc(r.Overlaps, func(o Overlap) bool {
		return o.Threat == "LINDDUN.DD" && o.Service == "minimise-data" && slices.Contains(o.Controls, "C2.spheres-of-control")
	}) {
		t.Errorf("overlaps %+v lack the minimise-data pair", r.Overlaps)
	}
	if len(r.Threats) == 0 || len(r.Coverage) == 0 {
		t.Fatal("empty threat table or coverage")
	}
}

// checkMinimumSetCovers: every threat of an open finding is either covered
// by a control of the minimum set or listed as uncovered, and the costs add up.
func checkMinimumSetCovers(t *testing.T, c *catalogue.Catalogue, r *Report) {
	t.Helper()
	cost := 0
	covered := map[string]bool{}
	for _, id := range r.MinimumSet.Controls {
		ctl, ok := c.Control(id)
		if !ok {
			t.Fatalf("minimum set names unknown control %s", id)
		}
		cost += ctl.Cost
		for _, th := range ctl.Mitigates {
			covered[th] = true
		}
	}
	if cost != r.MinimumSet.TotalCost {
		t.Errorf("total cost %d, controls add up to %d", r.MinimumSet.TotalCost, cost)
	}
	if r.MinimumSet.Greedy < r.MinimumSet.TotalCost {
		t.Errorf("greedy %d cheaper than the reported minimum %d", r.MinimumSet.Greedy, r.MinimumSet.TotalCost)
	}
	for _, f := range r.Findings {
		if f.Status == Open && !covered[f.Threat] && !slices.Contains(r.Uncovered, f.Threat) {
			t.Errorf("open threat %s neither covered nor listed uncovered", f.Threat)
		}
	}
	if !r.MinimumSet.Optimal {
		t.Errorf("minimum set not proved optimal (gap %.3f)", r.MinimumSet.Gap)
	}
}

func TestAnalyzeExamplesDump(t *testing.T) {
	if testing.Verbose() {
		m, c := loadExample(t, "ev-charging.yaml"), defaultCatalogue(t)
		r, err := Analyze(m, c, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range r.Findings {
			t.Logf("%-70s %s %v", f.ID, f.Status, f.MitigatedBy)
		}
		t.Logf("min %+v uncovered %v", r.MinimumSet, r.Uncovered)
		for _, e := range r.Cascade[:min(5, len(r.Cascade))] {
			t.Logf("cascade %s %.2f %d %v", e.Component, e.Score, len(e.Reaches), e.CutBy)
		}
		for _, th := range r.Threats {
			t.Logf("threat %s %v %+v", th.ID, th.Classes, th.Risk)
		}
		t.Logf("overlaps %+v", r.Overlaps)
	}
}

func TestAnalyzeHomeMetering(t *testing.T) {
	m, c := loadExample(t, "home-metering.yaml"), defaultCatalogue(t)
	r, err := Analyze(m, c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkMinimumSetCovers(t, c, r)
	mitigated := 0
	for _, f := range r.Findings {
		if f.Status == Mitigated {
			mitigated++
			if len(f.MitigatedBy) == 0 {
				t.Errorf("%s mitigated by nothing", f.ID)
			}
		}
	}
	if mitigated == 0 {
		t.Error("home-metering deploys controls but no finding is mitigated")
	}
}

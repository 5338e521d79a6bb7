package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usapp/usapp/privacy/eval"
)

// privacyFrontier parses args as "usapp privacy frontier ..." and runs it.
func privacyFrontier(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	c, _ := parseCLI(t, append([]string{"privacy", "frontier"}, args...)...)
	var out, errb bytes.Buffer
	err = c.Privacy.Frontier.run(&out, &errb)
	return out.String(), err
}

// TestPrivacyFrontier checks that the table and the frontier agree with the
// JSON the same run writes, and that the figure is drawn.
func TestPrivacyFrontier(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "settings.json")
	out, err := privacyFrontier(t, "--data", "ukdale,synthetic", "--homes", "2", "--caps", "3,5", "--json", js, "--plot", dir)
	if err != nil {
		t.Fatal(err)
	}
	var means []eval.SettingMeans
	for _, r := range readRows(t, js) {
		means = append(means, eval.SettingMeans{
			Family: r["family"].(string), Label: r["setting"].(string), Days: int(r["days"].(float64)),
			MIBits: r["mi_bits"].(float64), ExtraEnergyPct: r["extra_energy_pct"].(float64), F1: r["f1"].(float64),
		})
	}
	if len(means) != len(eval.Settings()) {
		t.Fatalf("%d settings in the JSON, want %d", len(means), len(eval.Settings()))
	}
	for _, m := range means {
		if m.Days != 3 {
			t.Fatalf("%s %s over %d days, want 3 (UK-DALE and two homes)", m.Family, m.Label, m.Days)
		}
	}
	for _, fam := range eval.Families(means) {
		want := fam
		for _, c := range []float64{3, 5} {
			if m, ok := eval.BestWithin(means, fam, c); ok {
				want += fmt.Sprintf(" %.3f (%.3f)", m.MIBits, m.F1)
			} else {
				want += " -"
			}
		}
		if !strings.Contains(collapse(out), want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, m := range eval.Frontier(means) {
		if want := fmt.Sprintf("%s %s %.2f %.3f", m.Family, m.Label, m.ExtraEnergyPct, m.MIBits); !strings.Contains(collapse(out), want) {
			t.Errorf("frontier lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "frontier.png")); err != nil {
		t.Error(err)
	}
}

// collapse turns runs of spaces into one, so that table cells can be found
// whatever their padding.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestPrivacyFrontierBadInput(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", "synthetic", "--homes", "0"}, "no days of demand"},
		{[]string{"--homes=-1"}, "must not be negative"},
		{[]string{"--data", "no-such-file.csv"}, "no-such-file.csv"},
		{[]string{"--data", "ukdale", "--battery-kwh=-2"}, "--battery-kwh"},
		{[]string{"--data", "ukdale", "--attacker", "psychic"}, "psychic"},
	} {
		_, err := privacyFrontier(t, tt.args...)
		var h interface{ Hint() string }
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want one naming %q", tt.args, err, tt.want)
		} else if !errors.As(err, &h) {
			t.Errorf("%v: %v carries no hint", tt.args, err)
		}
	}
}

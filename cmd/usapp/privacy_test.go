package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/usapp/usapp/control/energy"
	"github.com/usapp/usapp/privacy/eval"
	"github.com/usapp/usapp/sim/household"
)

// parseCLI parses args with the real flag definitions and returns the
// parsed cli and the selected command path.
func parseCLI(t *testing.T, args ...string) (*cli, string) {
	t.Helper()
	var c cli
	parser, err := kong.New(&c, kong.Name("usapp"))
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return &c, kctx.Command()
}

// privacyEval parses args as "usapp privacy eval ..." and runs the command
// in-process.
func privacyEval(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	c, _ := parseCLI(t, append([]string{"privacy", "eval"}, args...)...)
	var out, errb bytes.Buffer
	err = c.Privacy.Eval.run(&out, &errb)
	return out.String(), errb.String(), err
}

func readRows(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestPrivacyEvalUKDALE(t *testing.T) {
	dir := t.TempDir()
	js, figs := filepath.Join(dir, "rows.json"), filepath.Join(dir, "figs")
	out, _, err := privacyEval(t, "--data", "ukdale", "--battery-kwh", "2", "--battery-kw", "3",
		"--algo", "all", "--attacker", "all", "--json", js, "--plot", figs)
	if err != nil {
		t.Fatal(err)
	}
	rows := readRows(t, js)
	algos := energy.Algorithms()
	// --plot implies the sweep: the main rows, then none once and every
	// algorithm at each sweep capacity.
	perAttacker := (1 + len(algos)) + 1 + len(algos)*len(eval.SweepCapacitiesKWh)
	if len(rows)%perAttacker != 0 || len(rows) == 0 {
		t.Fatalf("%d rows, want a multiple of %d", len(rows), perAttacker)
	}
	if rows[0]["algorithm"] != "none" || len(rows[0]) != 14 {
		t.Fatalf("first row %v: want algorithm none with the 12 keys of the issue plus cost and losses_kwh", rows[0])
	}
	for _, a := range append([]string{"none"}, energy.Names()...) {
		if !strings.Contains(out, a) {
			t.Errorf("table lacks algorithm %s:\n%s", a, out)
		}
	}
	for _, col := range []string{"F1", "precision", "recall", "MI bits", "ρ", "extra energy %", "SoC drift kWh", "peak kW", "cost"} {
		if !strings.Contains(out, col) {
			t.Errorf("table lacks column %q", col)
		}
	}
	entries, err := os.ReadDir(figs)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1+len(algos)+2 {
		t.Fatalf("%d figures, want one per run plus the sweep and the trade-off", len(entries))
	}
	if _, err := os.Stat(filepath.Join(figs, "tradeoff.png")); err != nil {
		t.Error(err)
	}
	// --plot implies the reference table: one line per hold count.
	if !strings.Contains(out, "non-causal reference") {
		t.Errorf("no reference table:\n%s", out)
	}
	for _, e := range entries {
		if data, _ := os.ReadFile(filepath.Join(figs, e.Name())); !bytes.HasPrefix(data, []byte("\x89PNG")) {
			t.Errorf("%s is not a PNG", e.Name())
		}
	}
}

// The standing table agrees with the JSON rows: each algorithm's energy
// column says whether its extra energy is within the design target.
func TestPrivacyEvalStanding(t *testing.T) {
	js := filepath.Join(t.TempDir(), "rows.json")
	out, _, err := privacyEval(t, "--data", "synthetic", "--seed", "4", "--json", js)
	if err != nil {
		t.Fatal(err)
	}
	energyPct := map[string]float64{} // one run per algorithm: the same for every attacker
	for _, r := range readRows(t, js) {
		energyPct[r["algorithm"].(string)] = r["extra_energy_pct"].(float64)
	}
	_, table, ok := strings.Cut(out, "design target")
	if !ok {
		t.Fatalf("no standing table:\n%s", out)
	}
	lines := map[string][]string{}
	for _, line := range strings.Split(table, "\n")[1:] {
		if f := strings.Fields(line); len(f) == 7 {
			lines[f[0]] = f
		}
	}
	if _, ok := lines["none"]; ok {
		t.Error("the standing table lists none, which hides nothing")
	}
	for _, a := range energy.Names() {
		f, ok := lines[a]
		if !ok {
			t.Fatalf("standing table lacks %s:\n%s", a, table)
		}
		if want := yesNo(energyPct[a] <= eval.DesignTarget.ExtraEnergyPct); f[3] != want {
			t.Errorf("%s: energy column %q, want %q (%.2f %%)", a, f[3], want, energyPct[a])
		}
		isBase := slices.Contains(eval.GoalBaselines, a)
		if (f[5] == "-") != isBase {
			t.Errorf("%s: beats column %q; baselines show -, the others yes or no", a, f[5])
		}
	}
}

func TestPrivacyEvalReferenceRefusesLongTraces(t *testing.T) {
	// Two days and a bit of one-minute UCI samples: past the reference's
	// bound, so --reference must say why instead of running for minutes.
	var b strings.Builder
	b.WriteString("Date;Time;Global_active_power;Global_reactive_power;Voltage;Global_intensity;Sub_metering_1;Sub_metering_2;Sub_metering_3\n")
	start := time.Date(2007, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range eval.MaxReferenceSamples + 1 {
		ts := start.Add(time.Duration(i) * time.Minute)
		fmt.Fprintf(&b, "%d/%d/%d;%s;1.000;0.1;240;4.2;0;1;17\n", ts.Day(), int(ts.Month()), ts.Year(), ts.Format("15:04:05"))
	}
	file := filepath.Join(t.TempDir(), "long.txt")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := privacyEval(t, "--data", file, "--algo", "usapp", "--attacker", "hart"); err != nil {
		t.Fatalf("without --reference the long trace must evaluate: %v", err)
	}
	// The floor has the same bound (MaxFloorSamples = MaxReferenceSamples)
	// and both say how to get past it.
	for _, flag := range []string{"--reference", "--floor"} {
		_, _, err := privacyEval(t, "--data", file, "--algo", "usapp", "--attacker", "hart", flag)
		var h *hintError
		if !errors.Is(err, eval.ErrTooLong) || !strings.Contains(err.Error(), "at most") || !errors.As(err, &h) {
			t.Fatalf("%s: got %v, want ErrTooLong naming the bound, with a hint", flag, err)
		}
	}
	// Any other refusal carries no "cut the file" hint.
	var h *hintError
	if errors.As(hintTooLong(eval.ErrOptions, "cut the file"), &h) {
		t.Error("hint added to an error that is not about length")
	}
}

func TestPrivacyEvalSyntheticOneAlgorithm(t *testing.T) {
	js := filepath.Join(t.TempDir(), "rows.json")
	name := energy.Algorithms()[0].Name()
	if _, _, err := privacyEval(t, "--data", "synthetic", "--seed", "4", "--algo", name, "--attacker", "hart", "--json", js); err != nil {
		t.Fatal(err)
	}
	rows := readRows(t, js)
	if len(rows) != 2 || rows[0]["algorithm"] != "none" || rows[1]["algorithm"] != name || rows[1]["attacker"] != "hart" {
		t.Fatalf("rows %v: want none and %s against hart", rows, name)
	}
	if rows[1]["battery_kwh"] != 2.0 || rows[1]["battery_kw"] != 3.0 {
		t.Fatalf("battery %v/%v, want the 2 kWh / 3 kW defaults", rows[1]["battery_kwh"], rows[1]["battery_kw"])
	}
}

// syntheticMI is each algorithm's MI on synthetic home seed with the extra
// flags args (the Hart attacker only, for speed: MI does not depend on it).
func syntheticMI(t *testing.T, seed int, args ...string) map[string]float64 {
	t.Helper()
	js := filepath.Join(t.TempDir(), "rows.json")
	base := []string{"--data", "synthetic", "--seed", strconv.Itoa(seed), "--attacker", "hart", "--json", js}
	if _, _, err := privacyEval(t, append(base, args...)...); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, r := range readRows(t, js) {
		out[r["algorithm"].(string)] = r["mi_bits"].(float64)
	}
	return out
}

// What a HEMS knows and the baselines do not lowers usapp's MI and leaves
// theirs alone: --planned tells it synthetic home 11's deferrable runs
// (0.906 to 0.723 bits), --history 7 gives it seven earlier days of home 3,
// whose evening oven and 1.5 kW load otherwise reach the meter (0.579 to
// 0.364 bits).
func TestPrivacyEvalHEMSKnowledge(t *testing.T) {
	for _, c := range []struct {
		seed    int
		flags   []string
		minDrop float64 // bits
	}{
		{11, []string{"--planned"}, 0.05},
		{3, []string{"--history", "7"}, 0.1},
	} {
		without, with := syntheticMI(t, c.seed), syntheticMI(t, c.seed, c.flags...)
		if with["usapp"] > without["usapp"]-c.minDrop {
			t.Errorf("%v: usapp MI %.3f bits, %.3f without; want at least %.2f lower", c.flags, with["usapp"], without["usapp"], c.minDrop)
		}
		for _, a := range []string{"best-effort", "nill", "stepping"} {
			if with[a] != without[a] {
				t.Errorf("%v: %s MI moved from %.3f to %.3f; the baselines ignore it", c.flags, a, without[a], with[a])
			}
		}
	}
}

func TestPrivacyEvalDataFile(t *testing.T) {
	_, _, err := privacyEval(t, "--data", "../../sim/household/testdata/uci_household_power_consumption_excerpt_2006-12-16_1min.txt", "--attacker", "hart")
	if err != nil {
		t.Fatal(err)
	}
}

func TestPrivacyEvalBadInput(t *testing.T) {
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.csv")
	uk, err := os.ReadFile("../../sim/household/testdata/ukdale_house2_2013-06-08_2min_W.csv")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, uk[:len(uk)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "meter.txt")
	if err := os.WriteFile(unknown, []byte("ts power\n1 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		is       error
		hintHas  string // the flag or file the user must fix
		fieldErr string
	}{
		{"unknown algorithm", []string{"--data", "ukdale", "--algo", "magic"}, energy.ErrUnknownAlgorithm, "best-effort", ""},
		{"unknown attacker", []string{"--data", "ukdale", "--attacker", "oracle"}, nil, "hart", ""},
		{"efficiency 2", []string{"--data", "ukdale", "--battery-efficiency", "2"}, energy.ErrBattery, "--battery-efficiency", "RoundTripEfficiency"},
		{"negative capacity", []string{"--data", "ukdale", "--battery-kwh=-1"}, energy.ErrBattery, "--battery-kwh", "CapacityKWh"},
		{"truncated file", []string{"--data", truncated}, household.ErrMalformed, "line", ""},
		{"unknown format", []string{"--data", unknown}, eval.ErrFormat, "layouts", ""},
		{"missing file", []string{"--data", filepath.Join(dir, "nope.csv")}, os.ErrNotExist, "--data", ""},
		{"history of the UK-DALE day", []string{"--data", "ukdale", "--history", "3"}, eval.ErrOptions, "--data synthetic", ""},
		{"history too long", []string{"--data", "synthetic", "--history", "40"}, eval.ErrOptions, "--history", ""},
	} {
		_, _, err := privacyEval(t, tc.args...)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.is)
		}
		var h interface{ Hint() string }
		if !errors.As(err, &h) || !strings.Contains(h.Hint(), tc.hintHas) {
			t.Errorf("%s: hint %v, want one mentioning %q", tc.name, h, tc.hintHas)
		}
		var fe *energy.FieldError
		if tc.fieldErr != "" && (!errors.As(err, &fe) || fe.Field != tc.fieldErr) {
			t.Errorf("%s: want a FieldError for %s, got %v", tc.name, tc.fieldErr, err)
		}
		if tc.fieldErr != "" && !strings.Contains(err.Error(), tc.hintHas) {
			t.Errorf("%s: error %q does not name the flag %s", tc.name, err, tc.hintHas)
		}
		var pe *household.ParseError
		if strings.HasSuffix(tc.name, "file") && tc.is != os.ErrNotExist && (!errors.As(err, &pe) || pe.File != truncated || pe.Line < 2) {
			t.Errorf("%s: want a ParseError naming %s and its line, got %v", tc.name, truncated, err)
		}
	}
}

func TestPrivacyEvalNamesEveryBadBatteryFlag(t *testing.T) {
	_, _, err := privacyEval(t, "--data", "ukdale", "--battery-kwh", "0", "--battery-kw=-1", "--battery-efficiency", "1.5")
	if !errors.Is(err, energy.ErrBattery) {
		t.Fatalf("err %v, want ErrBattery", err)
	}
	var h interface{ Hint() string }
	errors.As(err, &h)
	for _, flag := range []string{"--battery-kwh", "--battery-kw", "--battery-efficiency"} {
		if !strings.Contains(err.Error(), flag+": ") || h == nil || !strings.Contains(h.Hint(), flag) {
			t.Errorf("flag %s not named in %q (hint %v)", flag, err, h)
		}
	}
}

// TestPrivacyEvalBinaryErrors runs the real binary on a truncated file: the
// user sees a "usapp:" line naming the file and line, a hint, and exit 1.
func TestPrivacyEvalBinaryErrors(t *testing.T) {
	bin := usappBinary(t)
	bad := filepath.Join(t.TempDir(), "cut.csv")
	if err := os.WriteFile(bad, []byte("unix_ts,kettle,mains\n1370646000,0,100\n1370646120,0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "privacy", "eval", "--data", bad)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr:\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "usapp: "+bad+":3:") || !strings.HasPrefix(lines[1], "hint: ") {
		t.Fatalf("stderr:\n%s\nwant a usapp: line naming %s:3 and a hint: line", stderr.String(), bad)
	}
}

func TestPrivacyEvalFloor(t *testing.T) {
	js := filepath.Join(t.TempDir(), "rows.json")
	out, _, err := privacyEval(t, "--data", "ukdale", "--algo", "nill", "--attacker", "hart", "--floor", "--json", js)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "MI floor") {
		t.Errorf("no floor table:\n%s", out)
	}
	rows := readRows(t, js)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want none and nill", len(rows))
	}
	for _, r := range rows {
		floor, ok := r["mi_floor_bits"].(float64)
		mi := r["mi_bits"].(float64)
		// A floor is below what the run itself leaked; with no battery
		// there is nothing to spend, so it is the whole MI.
		if !ok || floor > mi+1e-9 || (r["algorithm"] == "none" && floor < 0.9*mi) {
			t.Errorf("%v: mi_floor_bits %v against mi_bits %v", r["algorithm"], r["mi_floor_bits"], mi)
		}
	}
	// Without --floor the key is absent, not a misleading 0.
	if _, _, err := privacyEval(t, "--data", "ukdale", "--algo", "nill", "--attacker", "hart", "--json", js); err != nil {
		t.Fatal(err)
	}
	if _, ok := readRows(t, js)[1]["mi_floor_bits"]; ok {
		t.Error("mi_floor_bits written without --floor")
	}
}

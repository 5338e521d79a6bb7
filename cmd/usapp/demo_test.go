package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The demo's --demand-response flag reaches every home's HEMS, and a bad
// window is refused with a hint before anything starts.
func TestDemoDemandResponseFlag(t *testing.T) {
	dir := t.TempDir()
	out, errs, code := runUsapp(t, dir, "demo", "--quiet", "--homes", "2", "--hours", "1", "--out", "o",
		"--demand-response", "17:00-19:00=0.1", "--demand-response", "06:00-07:00=0.5")
	if code != 0 || !strings.Contains(out, "demand response 17:00-19:00=0.1, 06:00-07:00=0.5:") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "o", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		HEMS struct {
			DemandResponse []string       `json:"demand_response"`
			ByWinner       map[string]int `json:"by_winner"`
		} `json:"hems"`
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.HEMS.DemandResponse) != 2 || sum.HEMS.ByWinner["demand-response"] == 0 {
		t.Fatalf("summary.json hems %+v", sum.HEMS)
	}
	for _, bad := range []string{"17-19=1", "17:00-19:00", "17:00-19:00=-1"} {
		out, errs, code := runUsapp(t, dir, "demo", "--quiet", "--out", "bad", "--demand-response", bad)
		if code == 0 || !strings.HasPrefix(errs, "usapp: demo: bad demand-response window: ") || !strings.Contains(errs, "\nhint: --demand-response takes FROM-TO=KW") {
			t.Errorf("%q: exit %d\nstdout: %s\nstderr: %s", bad, code, out, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); !os.IsNotExist(err) {
		t.Errorf("a refused demo created its output directory: %v", err)
	}
}

// Package analysis is the USaPP method as a tool (USAPP.md section 4): from a
// use-case model (analysis/model) and the catalogue of controls and threats
// (analysis/catalogue) it derives threats with rules (analysis/rules), tells
// which of the three classes of controls can mitigate each, measures coverage
// per requirement, domain, category and layer, finds overlapping controls,
// computes a minimum-cost set of controls covering every coverable threat,
// propagates compromise along flows and trust (cascaded risk), and scores
// residual risk. Reports (analysis/report) render the result.
//
// The Report's JSON form is a public contract, version 1.
package analysis

import "github.com/usapp/usapp/framework"

// Status of a finding.
type Status string

// Finding statuses.
const (
	Open          Status = "open"           // no deployed control mitigates it
	Mitigated     Status = "mitigated"      // a deployed control (model.controls) mitigates it
	NotApplicable Status = "not-applicable" // marked so in the model, with a reason
)

// Finding is one threat a rule raised on one model element.
type Finding struct {
	ID          string                `json:"id"`      // stable: "<rule>/<threat>/<element>"
	Rule        string                `json:"rule"`    // the rule that raised it
	Threat      string                `json:"threat"`  // catalogue threat id
	Element     string                `json:"element"` // component or flow id
	Reason      string                `json:"reason"`  // why the rule fired, in words
	Status      Status                `json:"status"`
	Note        string                `json:"note,omitempty"` // the not-applicable reason
	MitigatedBy []framework.ControlID `json:"mitigated_by,omitempty"`
}

// Risk is likelihood × impact, before and after the deployed controls; each
// factor is on a 1–5 scale, so scores run from 1 to 25.
type Risk struct {
	Likelihood float64 `json:"likelihood"`
	Impact     float64 `json:"impact"`
	Before     float64 `json:"before"`
	After      float64 `json:"after"`
}

// ThreatRow is one row of the threat × class table.
type ThreatRow struct {
	ID       string                `json:"id"`
	Name     string                `json:"name"`
	Classes  []framework.Class     `json:"classes"`  // classes holding a control that mitigates it (from the catalogue)
	Controls []framework.ControlID `json:"controls"` // catalogue controls that mitigate it
	Risk     Risk                  `json:"risk"`
	Findings []string              `json:"findings"` // ids of the findings raising it
}

// Coverage is one cell of (requirement, domain, category, layer): whether a
// deployed control serves the requirement there.
type Coverage struct {
	Requirement framework.Requirement `json:"requirement"`
	Domain      framework.Domain      `json:"domain"`
	Category    framework.Category    `json:"category"`
	Layer       framework.Layer       `json:"layer"`
	Covered     bool                  `json:"covered"`
	Controls    []framework.ControlID `json:"controls,omitempty"`
}

// Overlap is several controls delivering the same service against the same
// threat: candidates to drop.
type Overlap struct {
	Threat   string                `json:"threat"`
	Service  string                `json:"service"`
	Controls []framework.ControlID `json:"controls"`
}

// MinimumSet is a minimum-cost set of controls covering every coverable open
// threat (weighted set cover).
type MinimumSet struct {
	Controls  []framework.ControlID `json:"controls"`
	TotalCost int                   `json:"total_cost"`
	Optimal   bool                  `json:"optimal"` // proved optimal within the time limit
	Gap       float64               `json:"gap"`     // (cost − best lower bound) / cost; 0 when optimal
	Greedy    int                   `json:"greedy_cost"`
}

// CascadeEntry ranks a component by what its compromise reaches along flows
// and trust relations, and which controls cut that reach.
type CascadeEntry struct {
	Component string                `json:"component"`
	Reaches   []string              `json:"reaches"` // component ids
	Score     float64               `json:"score"`
	CutBy     []framework.ControlID `json:"cut_by,omitempty"`
}

// Report is the result of one analysis.
type Report struct {
	Version    int            `json:"version"` // 1
	Model      string         `json:"model"`
	Findings   []Finding      `json:"findings"`
	Threats    []ThreatRow    `json:"threats"`
	Coverage   []Coverage     `json:"coverage"`
	Overlaps   []Overlap      `json:"overlaps"`
	MinimumSet MinimumSet     `json:"minimum_set"`
	Uncovered  []string       `json:"uncovered"` // threat ids no catalogue control mitigates
	Cascade    []CascadeEntry `json:"cascade"`
}

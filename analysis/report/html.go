package report

import (
	"bufio"
	"html/template"
	"io"

	"github.com/usapp/usapp/analysis"
	"github.com/usapp/usapp/analysis/catalogue"
	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/framework"
)

// HTML writes rep as one self-contained page: inline CSS, three inline SVG
// figures (ids "grid", "flows", "threat-class"), no scripts and no external
// resources, so it can be mailed or archived as a single file. The markup is
// XHTML-compatible (every element closed, only numeric or XML entities), so
// XML tools can read it too. m and c may be nil; the grid and flow figures
// then show what they can.
func HTML(w io.Writer, rep *analysis.Report, m *model.Model, c *catalogue.Catalogue) error {
	if rep == nil {
		return ErrNoReport
	}
	d := pageData{
		Rep:         rep,
		Summary:     Summarise(rep),
		Severity:    SeverityOf,
		Grid:        template.HTML(gridSVG(rep, m, c)), // built with every value escaped
		Flows:       template.HTML(flowsSVG(m)),
		ThreatClass: template.HTML(threatClassSVG(rep)),
		Names:       threatNames(rep),
		Minimum:     minimumRows(rep, c),
	}
	for _, st := range statuses {
		d.Groups = append(d.Groups, findingGroup{Title: statusTitle(st), Findings: FindingsWith(rep, st)})
	}
	for _, cv := range rep.Coverage {
		if !cv.Covered {
			d.Gaps = append(d.Gaps, cv)
		}
	}
	if m != nil {
		d.Description = m.Meta.Description
	}
	bw := bufio.NewWriter(w)
	if err := page.Execute(bw, d); err != nil {
		return err
	}
	return bw.Flush()
}

type pageData struct {
	Rep                      *analysis.Report
	Description              string
	Summary                  Summary
	Severity                 func(float64) Severity
	Grid, Flows, ThreatClass template.HTML
	Groups                   []findingGroup
	Names                    map[string]string
	Minimum                  []minimumRow
	Gaps                     []analysis.Coverage
}

type findingGroup struct {
	Title    string
	Findings []analysis.Finding
}

type minimumRow struct {
	ID                  framework.ControlID
	Name, Class, Layers string
	Cost                string
}

func minimumRows(rep *analysis.Report, c *catalogue.Catalogue) []minimumRow {
	var out []minimumRow
	for _, id := range rep.MinimumSet.Controls {
		r := minimumRow{ID: id, Class: string(id.Subclass().Class())}
		if c != nil {
			if ctl, ok := c.Control(id); ok {
				r.Name, r.Layers = ctl.Name, joinLayers(ctl.Layers)
				r.Cost = score(float64(ctl.Cost))
			}
		}
		out = append(out, r)
	}
	return out
}

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"score": score,
	"inc":   func(i int) int { return i + 1 },
	"pct":   func(x float64) string { return score(x * 100) },
}).Parse(pageText))

const pageText = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>USaPP analysis: {{.Rep.Model}}</title>
<style>
body{font-family:sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #bbb;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}
code{background:#f3f3f3;padding:0 3px}
figure{margin:1em 0 2em;overflow-x:auto}
figcaption{font-style:italic;color:#555;margin-top:.3em}
.open{color:#c0392b}.high{color:#c0392b;font-weight:bold}.medium{color:#d35400}
</style>
</head>
<body>
<h1>USaPP analysis: {{.Rep.Model}}</h1>
{{with .Description}}<p>{{.}}</p>{{end}}
<h2 id="summary">Summary</h2>
<ul>
<li>Findings: {{.Summary.Findings}} (open {{.Summary.Open}}, mitigated {{.Summary.Mitigated}}, not applicable {{.Summary.NotApplicable}})</li>
<li>Threats: {{.Summary.Threats}}, of which {{.Summary.Uncovered}} no catalogue control mitigates</li>
<li>Highest residual risk of an open threat: {{if .Summary.MaxResidualOf}}<span class="{{call .Severity .Summary.MaxResidual}}">{{score .Summary.MaxResidual}} ({{call .Severity .Summary.MaxResidual}})</span>, <code>{{.Summary.MaxResidualOf}}</code>{{else}}none open{{end}}</li>
<li>Coverage: {{.Summary.CoveredCells}} of {{.Summary.CoverageCells}} cells covered</li>
<li>Minimum set: {{.Summary.MinimumControls}} controls, cost {{.Rep.MinimumSet.TotalCost}}{{if .Rep.MinimumSet.Optimal}} (optimal){{else}} (not proved optimal, gap {{pct .Rep.MinimumSet.Gap}}%){{end}}</li>
</ul>
<h2 id="figures">Figures</h2>
<figure>
{{.Grid}}
<figcaption>Figure 1. Deployed controls and the minimum set in the domains × layers grid.</figcaption>
</figure>
<figure>
{{.Flows}}
<figcaption>Figure 2. Data flows between components by domain; dashed boxes are trust boundaries, red dashed arrows weak flows.</figcaption>
</figure>
<figure>
{{.ThreatClass}}
<figcaption>Figure 3. Threats and the classes of controls that can mitigate them.</figcaption>
</figure>
<h2 id="findings">Findings</h2>
{{range .Groups}}<h3>{{.Title}} ({{len .Findings}})</h3>
{{if .Findings}}<table>
<tr><th>Finding</th><th>Rule</th><th>Threat</th><th>Element</th><th>Reason</th></tr>
{{range .Findings}}<tr><td><code>{{.ID}}</code></td><td>{{.Rule}}</td><td>{{.Threat}}</td><td>{{.Element}}</td><td>{{.Reason}}{{if .MitigatedBy}} Mitigated by {{range $i, $c := .MitigatedBy}}{{if $i}}, {{end}}<code>{{$c}}</code>{{end}}.{{end}}{{with .Note}} Not applicable: {{.}}{{end}}</td></tr>
{{end}}</table>
{{end}}{{end}}
<h2 id="minimum-set">Minimum set</h2>
<p>Total cost {{.Rep.MinimumSet.TotalCost}}; greedy cost {{.Rep.MinimumSet.Greedy}}; {{if .Rep.MinimumSet.Optimal}}optimal{{else}}gap {{pct .Rep.MinimumSet.Gap}}%{{end}}.</p>
{{if .Minimum}}<table>
<tr><th>Control</th><th>Name</th><th>Class</th><th>Layers</th><th>Cost</th></tr>
{{range .Minimum}}<tr><td><code>{{.ID}}</code></td><td>{{.Name}}</td><td>{{.Class}}</td><td>{{.Layers}}</td><td>{{.Cost}}</td></tr>
{{end}}</table>
{{end}}
<h2 id="uncovered">Uncovered threats</h2>
{{if .Rep.Uncovered}}<ul>
{{range .Rep.Uncovered}}<li><code>{{.}}</code> {{index $.Names .}}</li>
{{end}}</ul>
{{else}}<p>Every threat found has at least one catalogue control.</p>
{{end}}
<h2 id="coverage-gaps">Coverage gaps</h2>
{{if .Gaps}}<table>
<tr><th>Requirement</th><th>Domain</th><th>Category</th><th>Layer</th></tr>
{{range .Gaps}}<tr><td>{{.Requirement}}</td><td>{{.Domain}}</td><td>{{.Category}}</td><td>{{.Layer}}</td></tr>
{{end}}</table>
{{else}}<p>No gaps.</p>
{{end}}
<h2 id="overlaps">Overlaps</h2>
{{if .Rep.Overlaps}}<ul>
{{range .Rep.Overlaps}}<li>{{.Service}} against <code>{{.Threat}}</code>: {{range $i, $c := .Controls}}{{if $i}}, {{end}}<code>{{$c}}</code>{{end}}</li>
{{end}}</ul>
{{else}}<p>No overlapping controls.</p>
{{end}}
<h2 id="cascade">Cascade ranking</h2>
{{if .Rep.Cascade}}<table>
<tr><th>#</th><th>Component</th><th>Score</th><th>Reaches</th><th>Cut by</th></tr>
{{range $i, $e := .Rep.Cascade}}<tr><td>{{inc $i}}</td><td><code>{{$e.Component}}</code></td><td>{{score $e.Score}}</td><td>{{range $j, $r := $e.Reaches}}{{if $j}}, {{end}}{{$r}}{{end}}</td><td>{{range $j, $c := $e.CutBy}}{{if $j}}, {{end}}<code>{{$c}}</code>{{end}}</td></tr>
{{end}}</table>
{{else}}<p>No component's compromise reaches another.</p>
{{end}}
</body>
</html>
`

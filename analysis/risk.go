package analysis

import (
	"math"
	"slices"

	"github.com/usapp/usapp/analysis/catalogue"
	"github.com/usapp/usapp/analysis/model"
	"github.com/usapp/usapp/framework"
)

// risk scores one threat from its findings, on the 1–5 × 1–5 scale of Risk.
// The scale is deliberately coarse (a qualitative matrix in the style of
// ISO/IEC 27005 and NISTIR 7628 vol. 1 risk assessment):
//
//   - Likelihood = 1 + ½·(findings − 1) + weakness, capped at 5, where
//     weakness is the largest over the raising elements of: the number of
//     missing protections (authentication, integrity, any encryption) on a
//     flow, or 1 for a component. Not-applicable findings do not count; with
//     none left the likelihood is 1.
//   - For a privacy threat a flow's weakness also counts its Distrust
//     (0–1, model.Model.Distrust): how far the data's subjects distrust its
//     onlookers, the owners of intermediaries that can read it without
//     being an end or a subject. Protections keep outsiders out; they do
//     nothing against an onlooker that holds the plaintext, and the
//     stakeholders' trust is the model's word on how likely it is to
//     misuse it. A household's readings relayed in plaintext by a network
//     operator it trusts 0.5 score half a point less than by one it does
//     not list. The receiver is not counted: whether it may have the data
//     at all is what consent and the rules decide.
//   - Impact: security 4, failure scenario 5, privacy 3, plus 1 (capped at
//     5) when a raising flow carries personal or attributable data.
//   - After: likelihood halved once per distinct deployed control that
//     mitigates one of the findings, never below 1; impact unchanged.
func risk(m *model.Model, t catalogue.Threat, fs []Finding) Risk {
	var n int
	var weakness float64
	var mitigating []framework.ControlID
	sensitive := false
	for _, f := range fs {
		if f.Status == NotApplicable {
			continue
		}
		n++
		weakness = math.Max(weakness, weak(m, f.Element, t.Kind == catalogue.Privacy))
		sensitive = sensitive || carriesSensitive(m, f.Element)
		for _, id := range f.MitigatedBy {
			if !slices.Contains(mitigating, id) {
				mitigating = append(mitigating, id)
			}
		}
	}
	l := 1.0
	if n > 0 {
		l = math.Min(5, 1+0.5*float64(n-1)+weakness)
	}
	impact := map[catalogue.ThreatKind]float64{catalogue.Security: 4, catalogue.Failure: 5, catalogue.Privacy: 3}[t.Kind]
	if impact == 0 {
		impact = 3
	}
	if sensitive {
		impact = math.Min(5, impact+1)
	}
	after := math.Max(1, l/math.Pow(2, float64(len(mitigating))))
	return Risk{Likelihood: l, Impact: impact, Before: l * impact, After: after * impact}
}

func weak(m *model.Model, element string, privacy bool) float64 {
	f := m.Flow(element)
	if f == nil {
		return 1
	}
	w := 0.0
	if privacy {
		w += m.Distrust(f)
	}
	if !f.Protection.Authenticated {
		w++
	}
	if !f.Protection.Integrity {
		w++
	}
	if f.Protection.Encrypted == model.NoEnc || f.Protection.Encrypted == "" {
		w++
	}
	return w
}

func carriesSensitive(m *model.Model, element string) bool {
	f := m.Flow(element)
	if f == nil {
		return false
	}
	return slices.ContainsFunc(f.Data, func(d model.Datum) bool {
		return d.Attributable || d.Category == framework.PersonalData
	})
}

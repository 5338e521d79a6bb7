package framework

import (
	"encoding/json"
	"net/http"
)

// ControlsHandler answers GET /controls with the JSON list of the controls a
// role runs: {"role": ..., "controls": [{"id": ..., "params": {...}}]}. The
// analysis tool reads it to check a live deployment against a model, so the
// shape is a public contract (version 1).
func ControlsHandler(role string, active func() []Active) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		a := active()
		SortActive(a)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Version  int      `json:"version"`
			Role     string   `json:"role"`
			Controls []Active `json:"controls"`
		}{1, role, a})
	})
}

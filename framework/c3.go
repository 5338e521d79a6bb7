package framework

// Controls of subclass C3, secure energy management (package control/energy).
const (
	LoadHiding      ControlID = "C3.load-hiding"      // control/energy: battery load hiding algorithms
	HEMSArbitration ControlID = "C3.hems-arbitration" // control/energy: privacy vs cost, demand response, user override
)

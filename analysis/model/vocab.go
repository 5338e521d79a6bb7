package model

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ComponentType says what a component is. The list is closed so that rules
// can rely on it; add a type here (and to schema.json) rather than abusing
// "third-party".
type ComponentType string

// The component types.
const (
	Meter          ComponentType = "meter"         // the billing meter, legal source of readings
	SubMeter       ComponentType = "sub-meter"     // per-appliance or per-circuit meter in the HAN
	Gateway        ComponentType = "gateway"       // joins the HAN to the WAN/NAN; the home's policy point
	HEMS           ComponentType = "hems"          // home energy management system
	IHD            ComponentType = "ihd"           // in-home display
	Appliance      ComponentType = "appliance"     // a controllable load
	Battery        ComponentType = "battery"       // home storage
	PV             ComponentType = "pv"            // local renewable source (RES)
	EVSE           ComponentType = "evse"          // EV charging point
	EV             ComponentType = "ev"            // electric vehicle
	Concentrator   ComponentType = "concentrator"  // NAN data concentrator / relay
	Aggregator     ComponentType = "aggregator"    // combines data of many homes; not trusted with content
	HeadEnd        ComponentType = "headend"       // a utility's head-end system
	DSO            ComponentType = "dso"           // the distribution operator's system
	Escrow         ComponentType = "escrow"        // independent trusted third party
	EVAggregator   ComponentType = "ev-aggregator" // pools EV batteries for ancillary services
	Supplier       ComponentType = "supplier"      // a supplier's back office: billing, tariffs
	Market         ComponentType = "market"        // ancillary-service or energy market platform
	ThirdParty     ComponentType = "third-party"   // any other outside service
	NetworkSegment ComponentType = "network"       // a WAN/NAN/HAN link modelled as an element
	MobileApp      ComponentType = "app"           // a user's phone or web application
)

// ComponentTypes lists the component types, house side first.
var ComponentTypes = []ComponentType{
	Meter, SubMeter, Gateway, HEMS, IHD, Appliance, Battery, PV, EVSE, EV,
	Concentrator, Aggregator, HeadEnd, DSO, Escrow, EVAggregator, Supplier,
	Market, ThirdParty, NetworkSegment, MobileApp,
}

// Valid reports whether t is in ComponentTypes.
func (t ComponentType) Valid() bool { return slices.Contains(ComponentTypes, t) }

// BoundaryKind says whose realm a trust boundary encloses.
type BoundaryKind string

// The boundary kinds.
const (
	HomeBoundary         BoundaryKind = "home"
	VehicleBoundary      BoundaryKind = "vehicle"
	UtilityBoundary      BoundaryKind = "utility"
	GridOperatorBoundary BoundaryKind = "grid-operator"
	ThirdPartyBoundary   BoundaryKind = "third-party"
	NetworkBoundary      BoundaryKind = "network"
	PublicBoundary       BoundaryKind = "public"
)

// BoundaryKinds lists the boundary kinds.
var BoundaryKinds = []BoundaryKind{
	HomeBoundary, VehicleBoundary, UtilityBoundary, GridOperatorBoundary,
	ThirdPartyBoundary, NetworkBoundary, PublicBoundary,
}

// Valid reports whether k is in BoundaryKinds.
func (k BoundaryKind) Valid() bool { return slices.Contains(BoundaryKinds, k) }

// Private reports whether k encloses a person's own sphere (a home or a
// vehicle): data made there is about the people who live or drive there.
func (k BoundaryKind) Private() bool { return k == HomeBoundary || k == VehicleBoundary }

// DataKind says what a datum on a flow is, independently of its sphere.
type DataKind string

// The data kinds.
const (
	Reading        DataKind = "reading"         // a measurement of energy or power
	PriceSignal    DataKind = "price-signal"    // a price the receiver is expected to act on
	ControlSignal  DataKind = "control-signal"  // a set-point or start/stop instruction
	NetworkState   DataKind = "network-state"   // feeder load, voltage, congestion
	Tariff         DataKind = "tariff"          // a contract's price table
	Payment        DataKind = "payment"         // money owed or paid
	Identity       DataKind = "identity"        // who someone or something is
	Firmware       DataKind = "firmware"        // software images
	KeyUpdate      DataKind = "key-update"      // new keys or certificates
	Command        DataKind = "command"         // an administrative command (disconnect, configure)
	Location       DataKind = "location"        // where a person or vehicle is
	Preference     DataKind = "preference"      // a user's wishes: schedules, limits, priorities
	IntegrityCheck DataKind = "integrity-check" // a digest fed back for comparison (B3)
)

// DataKinds lists the data kinds.
var DataKinds = []DataKind{
	Reading, PriceSignal, ControlSignal, NetworkState, Tariff, Payment, Identity,
	Firmware, KeyUpdate, Command, Location, Preference, IntegrityCheck,
}

// Valid reports whether k is in DataKinds.
func (k DataKind) Valid() bool { return slices.Contains(DataKinds, k) }

// Encryption says how far a flow's payload is encrypted.
type Encryption string

// The encryption levels, strongest first.
const (
	EndToEnd Encryption = "end-to-end" // only the two endpoints can read it; intermediaries cannot
	Hop      Encryption = "hop"        // each link is encrypted; every intermediary reads plaintext
	NoEnc    Encryption = "none"       // plaintext
)

// Encryptions lists the encryption levels, strongest first.
var Encryptions = []Encryption{EndToEnd, Hop, NoEnc}

// Valid reports whether e is in Encryptions.
func (e Encryption) Valid() bool { return slices.Contains(Encryptions, e) }

// Duration is the period of a recurring datum (how often it is sent). It is
// written as a Go duration ("30m", "1m", "1s", "500ms", "1h30m") or as a
// whole number of days ("1d", "30d"). Zero means event-driven: sent when
// something happens rather than on a clock.
type Duration time.Duration

// ParseDuration reads a Duration; it must be positive.
func ParseDuration(s string) (Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok && days != "" && !strings.ContainsAny(days, "+-.") {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%q: days must be a whole number up to 65535", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: want a duration such as 30m, 1s or 1d", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be positive", s)
	}
	return Duration(d), nil
}

// String gives the duration in Go's form, or "" for event-driven.
func (d Duration) String() string {
	if d == 0 {
		return ""
	}
	return time.Duration(d).String()
}

// MarshalText writes the canonical form used in JSON and in Hash.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

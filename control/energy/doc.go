// Package energy implements C3.load-hiding and C3.hems-arbitration: a home
// battery that hides appliance load signatures from whoever reads the meter,
// and the HEMS arbiter that weighs that privacy against cost, demand
// response, grid emergencies and the user.
//
// # Physics, in one place
//
// With demand p, metered (grid-side) power p_i, cell power pB (+ discharge,
// − charge) and conversion loss pL (never positive), every step satisfies
//
//	p = p_i + pB + pL
//
// Each conversion has efficiency √η (η the round-trip efficiency): a
// discharge of pB delivers √η·pB, a charge of |pB| draws |pB|/√η. The stored
// energy follows SoC[t+1] = SoC[t] − pB·Δt. One unexported simulator applies
// these rules; every algorithm only asks it for a metered level or a cell
// power, and it clamps the request to the charge and discharge limits, to the
// SoC window and to no export (p_i ≥ 0). No algorithm can break physics. With
// Run.ReturnSoC the SoC window also narrows to a funnel that closes on
// InitialSoC at the last step, so privacy is never bought with a flat (or
// full) battery; the algorithms steer there themselves and the funnel is the
// backstop.
//
// # Algorithms
//
// [BestEffort] (Kalogridis et al. 2010), [NILL] (McLaughlin et al. 2011),
// [Stepping] (Yang et al. 2012) and [Random] (after Zhao et al. 2014) are the
// published baselines; [USaPP] is ours. All are causal, O(n) and
// deterministic (Random given Run.Seed). [Algorithms] lists them by name and
// [Lookup] finds one.
//
// # How USaPP hides
//
// An event detector (Hart) reports signed steps of the metered trace; an
// adaptive attacker reports every moment the metered trace leaves a level it
// has held, since published hiders only let go of a level when demand forces
// them to. Both are scored on whether a report falls within a sample of a
// real appliance switching with the same sign. USaPP therefore makes the
// metered trace change rarely, and only at moments and by amounts that do
// not depend on when appliances switch:
//
//   - The meter reads a flat level. The level is re-planned only at block
//     boundaries fixed by the clock (every hour by default), never at a
//     demand edge, as the mean demand of the last two hours plus an SoC
//     correction that steers the battery to its target over two blocks,
//     rounded to a 100 W grid; changes smaller than most of a quantum are
//     skipped. A scheduled change is a slow ramp (30 W per step), below a step
//     detector's noise floor, so Hart sees nothing and the adaptive attacker
//     sees one break at a clock-chosen moment.
//   - A guard, evaluated only on a clock-fixed 10-minute grid and on the
//     mean demand since the last check (never on the instantaneous demand,
//     so a kettle's edge does not move the level), moves the level at once,
//     by whole quanta, when holding it would bring the battery into a guard
//     band at either end of its (funnel-narrowed) window.
//   - What is left to an attacker is matching clock-chosen breaks to real
//     events by chance, and the moments when demand exceeds level plus the
//     discharge limit, which no battery of that power can hide.
//   - With Run.Prices the SoC target moves up in cheap bands and down in dear
//     ones (planned a block ahead), so the level rises when energy is cheap and
//     the battery charges then; the shift fades out over the ReturnSoC ramp.
//
// # HEMS arbitration
//
// [Arbiter] replays a run step by step: physics first, then each [Source] in
// a configurable priority order (default: grid emergency, user override,
// demand response, privacy, cost) narrows the cell power the earlier ones
// left open. A wish that no longer fits loses and gets the nearest allowed
// power; each such conflict is a [Decision] naming winner, loser and why, for
// the user to see.
//
// # Concurrency
//
// Everything here is a pure function of its arguments: algorithms and
// arbiters are plain values, safe for concurrent use. The package does no
// I/O.
package energy

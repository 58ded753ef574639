package harness

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// WarmupRounds is how many rounds Paired runs and discards before measuring: the first runs pay
// for cold page cache, a cold CPU and the helper's first unlock of its store.
const WarmupRounds = 3

// Paired runs every command once per round, in an order rng shuffles afresh each round, for
// WarmupRounds discarded rounds and then rounds measured ones. Running the commands side by
// side spreads the machine's drift (other load, frequency scaling) evenly over them, and the
// per-round ratios of Report.Ratio cancel most of what remains. Any run that fails ends the
// measurement with an error.
func (r Runner) Paired(ctx context.Context, rounds int, rng *rand.Rand, cmds []Cmd) (Report, error) {
	if rounds < 1 || len(cmds) == 0 {
		return Report{}, errors.New("paired runs need at least one round and one command")
	}
	rep := Report{Names: make([]string, len(cmds))}
	for i, c := range cmds {
		rep.Names[i] = c.label()
		if slices.Contains(rep.Names[:i], rep.Names[i]) {
			return Report{}, fmt.Errorf("paired runs: two commands named %q", rep.Names[i])
		}
	}
	order := make([]int, len(cmds))
	for i := range order {
		order[i] = i
	}
	for round := range WarmupRounds + rounds {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		row := make([]Result, len(cmds))
		for _, i := range order {
			row[i] = r.Run(ctx, cmds[i])
			if err := row[i].Check(); err != nil {
				return Report{}, fmt.Errorf("paired run %d of %s: %w", round+1, rep.Names[i], err)
			}
		}
		if round >= WarmupRounds {
			rep.Runs = append(rep.Runs, row)
		}
	}
	return rep, nil
}

// Report holds the measured rounds of Paired.
type Report struct {
	Names []string   // the commands' names, in the order given to Paired
	Runs  [][]Result // Runs[round][i] is command Names[i]'s run in that round
}

// Stat summarises command name's runs; zero if there is no such command.
func (r Report) Stat(name string) Stat {
	i := slices.Index(r.Names, name)
	if i < 0 {
		return Stat{}
	}
	col := make([]Result, len(r.Runs))
	for k, row := range r.Runs {
		col[k] = row[i]
	}
	return Summarize(col)
}

// Ratio is the median over rounds of name's wall time divided by ref's in the same round; NaN
// if either command is unknown or there are no rounds.
func (r Report) Ratio(name, ref string) float64 {
	i, j := slices.Index(r.Names, name), slices.Index(r.Names, ref)
	if i < 0 || j < 0 || len(r.Runs) == 0 {
		return math.NaN()
	}
	ratios := make([]float64, len(r.Runs))
	for k, row := range r.Runs {
		ratios[k] = float64(row[i].Wall) / float64(row[j].Wall)
	}
	return quantile(ratios, 0.5)
}

// Stat summarises a set of runs.
type Stat struct {
	N         int
	Median    time.Duration
	P90       time.Duration
	Max       time.Duration
	MaxRSSKiB int64 // the largest peak RSS of any run
}

// Summarize returns the median, 90th percentile (nearest rank) and longest wall time of runs,
// and their largest peak RSS.
func Summarize(runs []Result) Stat {
	if len(runs) == 0 {
		return Stat{}
	}
	walls := make([]time.Duration, len(runs))
	st := Stat{N: len(runs)}
	for i, r := range runs {
		walls[i] = r.Wall
		st.Max = max(st.Max, r.Wall)
		st.MaxRSSKiB = max(st.MaxRSSKiB, r.MaxRSSKiB)
	}
	st.Median = quantile(walls, 0.5)
	st.P90 = quantile(walls, 0.9)
	return st
}

// quantile returns the nearest-rank q-quantile of xs, which must not be empty: the smallest
// value with at least q of the values at or below it.
func quantile[T time.Duration | float64](xs []T, q float64) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	k := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(k, 0)]
}

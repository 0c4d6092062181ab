package main

import (
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines a hunk shows around a
// change, as diff -u does.
const diffContext = 3

// maxDiffCells bounds the line-by-line table unifiedDiff builds; two files
// larger than that are shown as one hunk replacing the whole file.
const maxDiffCells = 4 << 20

// unifiedDiff returns the changes from a to b as a unified diff of lines
// (`--- name` and `+++ name (formatted)` headers, @@ hunks with three
// lines of context), "" when they are equal. Policy files are small, so a
// longest-common-subsequence table is fast enough and keeps this free of
// dependencies.
func unifiedDiff(name, a, b string) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	type op struct {
		kind byte // ' ', '-' or '+'
		line string
	}
	var ops []op
	if (len(x)+1)*(len(y)+1) > maxDiffCells {
		for _, l := range x {
			ops = append(ops, op{'-', l})
		}
		for _, l := range y {
			ops = append(ops, op{'+', l})
		}
	} else {
		// lcs[i][j] is the LCS length of x[i:] and y[j:].
		lcs := make([][]int32, len(x)+1)
		for i := range lcs {
			lcs[i] = make([]int32, len(y)+1)
		}
		for i := len(x) - 1; i >= 0; i-- {
			for j := len(y) - 1; j >= 0; j-- {
				if x[i] == y[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(x) || j < len(y) {
			switch {
			case i < len(x) && j < len(y) && x[i] == y[j]:
				ops = append(ops, op{' ', x[i]})
				i++
				j++
			case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
				// Deletions before insertions, as diff -u prints them.
				ops = append(ops, op{'-', x[i]})
				i++
			default:
				ops = append(ops, op{'+', y[j]})
				j++
			}
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s (formatted)\n", name, name)
	// Group the ops into hunks: changes closer than 2*diffContext share
	// one.
	for start := 0; start < len(ops); {
		for start < len(ops) && ops[start].kind == ' ' {
			start++
		}
		if start == len(ops) {
			break
		}
		end := start
		for k := start; k < len(ops); k++ {
			if ops[k].kind != ' ' {
				end = k + 1
				continue
			}
			if k-end >= 2*diffContext {
				break
			}
		}
		lo, hi := max(start-diffContext, 0), min(end+diffContext, len(ops))
		// Line numbers where the hunk starts in a and b.
		aLine, bLine := 1, 1
		for _, o := range ops[:lo] {
			if o.kind != '+' {
				aLine++
			}
			if o.kind != '-' {
				bLine++
			}
		}
		var aN, bN int
		for _, o := range ops[lo:hi] {
			if o.kind != '+' {
				aN++
			}
			if o.kind != '-' {
				bN++
			}
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", aLine, aN, bLine, bN)
		for _, o := range ops[lo:hi] {
			out.WriteByte(o.kind)
			out.WriteString(o.line)
			out.WriteByte('\n')
		}
		start = hi
	}
	return out.String()
}

// splitLines splits s into lines without their newlines.
func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/llmgw/llmgw/builtins"
	"github.com/llmgw/llmgw/engine"
	"github.com/llmgw/llmgw/gateway"
)

// capsPolicy makes the engine tell what it exposes, with Starlark's own
// dir(): route notes the attributes of req, ctx, a health, a provider and
// a target; classify, given the probe's own error message (which no real
// or synthetic upstream error carries), fails with those of err and of a
// class (classify cannot note). Any other failure gets the default class,
// so that walk() exercises every kind of attempt and the engine's own
// checks of classify pass.
const capsPolicy = `
a = provider("a", kind = "demo")
b = provider("b", kind = "demo")
c = provider("c", kind = "demo", priority = 2)

def route(req, ctx):
    note(json.encode({
        "req": dir(req),
        "ctx": dir(ctx),
        "health": dir(ctx.health(a)),
        "provider": dir(a),
        "target": dir(target(a)),
    }))
    return [a, b, c]

def classify(err, ctx):
    if err.message == "llmgw capabilities probe":
        fail("DIR" + json.encode({"err": dir(err), "class": dir(default_class(err))}))
    return default_class(err)
`

// capsPolicyTest reports the shape of what walk() returns through a
// failing test's message: every key, and the keys of the dicts inside
// (those of a list's elements merged). a cools down (429), b is marked
// failed (500) and c serves, so every optional member of an attempt is
// present; the sticky binding adds "sticky".
const capsPolicyTest = `
def _keys(v):
    if type(v) == "dict":
        return list(v.keys())
    out = []
    if type(v) == "list":
        for e in v:
            if type(e) == "dict":
                out += [k for k in e.keys() if k not in out]
    return out

def test_shape():
    r = walk({"model": "m", "key": "k", "session": "s"}, errors = {"a": "429:30", "b": 500}, sticky = "a")
    fail("SHAPE" + json.encode({k: _keys(r[k]) for k in r.keys()}))
`

// listed returns the capabilities `llmgw test --capabilities --json`
// prints.
func listed(t *testing.T) []builtins.Capability {
	t.Helper()
	out, errOut, code := runCmd(t, "", nil, "test", "--capabilities", "--json")
	if code != 0 {
		t.Fatalf("llmgw test --capabilities --json: exit %d, %s", code, errOut)
	}
	var caps []builtins.Capability
	if err := json.Unmarshal([]byte(out), &caps); err != nil {
		t.Fatalf("llmgw test --capabilities --json printed no JSON array: %v\n%s", err, out)
	}
	if len(caps) == 0 {
		t.Fatal("llmgw test --capabilities --json listed nothing")
	}
	for _, c := range caps {
		if c.Group == "" || c.Name == "" || c.Doc == "" {
			t.Errorf("capability %+v lacks a group, name or doc", c)
		}
	}
	return caps
}

// dottedNames are the "x.y" names in a capability's name:
// "health.healthy / health.available" lists two.
var dottedNames = regexp.MustCompile(`[A-Za-z_]+\.[A-Za-z_]+`)

// TestCapabilitiesCoverEngine checks the list against what the engine
// really exposes, so that it cannot drift: every attribute of req, ctx,
// health, err, provider, target and class values, and every key (and
// nested key) of the dict decide() and walk() return.
func TestCapabilitiesCoverEngine(t *testing.T) {
	caps := listed(t)
	names := map[string]bool{}
	resultDoc := map[string]string{}
	for _, c := range caps {
		for _, n := range dottedNames.FindAllString(c.Name, -1) {
			names[n] = true
		}
		if c.Group == "result" {
			key := strings.TrimSuffix(strings.TrimPrefix(c.Name, `["`), `"]`)
			resultDoc[key] = c.Doc
		}
	}

	dir := policyDir(t, map[string]string{"main.star": capsPolicy, "caps_test.star": capsPolicyTest})
	ctx := context.Background()
	eng, err := engine.New(ctx, engine.Config{Kinds: gateway.ProviderKinds(), Path: dir, SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	pol := eng.Policy()

	attrs := map[string][]string{}
	d, err := pol.Decide(ctx, &engine.Request{Model: "m", Protocol: "openai"}, engine.Env{})
	if err != nil || len(d.Notes) != 1 {
		t.Fatalf("Decide = %+v, %v; want one note", d, err)
	}
	if err := json.Unmarshal([]byte(d.Notes[0]), &attrs); err != nil {
		t.Fatalf("route's note %q: %v", d.Notes[0], err)
	}
	_, err = pol.Classify(ctx, engine.ErrorInfo{Status: 500, Kind: "http", Message: "llmgw capabilities probe"}, engine.Env{})
	var he *engine.HookError
	_, found, _ := strings.Cut(errString(err), "DIR")
	if !errors.As(err, &he) || found == "" {
		t.Fatalf("Classify = %v; want classify's failure carrying DIR{...}", err)
	}
	if err := json.Unmarshal([]byte(found), &attrs); err != nil {
		t.Fatalf("classify's failure %q: %v", found, err)
	}
	for _, group := range []string{"req", "ctx", "health", "err", "provider", "target", "class"} {
		if len(attrs[group]) == 0 {
			t.Errorf("dir(%s) is empty: the probe policy is broken", group)
		}
		for _, a := range attrs[group] {
			if !names[group+"."+a] {
				t.Errorf("the engine exposes %s.%s but `llmgw test --capabilities` does not list it", group, a)
			}
		}
	}

	rep, err := engine.RunTests(ctx, engine.Config{Kinds: gateway.ProviderKinds(), Path: dir}, engine.TestOptions{})
	if err != nil || len(rep.Tests) != 1 {
		t.Fatalf("RunTests = %+v, %v; want the one probe test", rep, err)
	}
	_, found, _ = strings.Cut(rep.Tests[0].Error, "SHAPE")
	shape := map[string][]string{}
	if err := json.Unmarshal([]byte(found), &shape); err != nil {
		t.Fatalf("walk()'s shape from %q: %v", rep.Tests[0].Error, err)
	}
	for _, want := range []string{"candidates", "attempts", "outcome", "providers", "served_by", "sticky"} {
		if _, ok := shape[want]; !ok {
			t.Errorf("walk() returned no %q: the probe is broken (keys %v)", want, shape)
		}
	}
	for key, inner := range shape {
		doc, ok := resultDoc[key]
		if !ok {
			t.Errorf("decide()/walk() return key %q but `llmgw test --capabilities` does not list [%q]", key, key)
			continue
		}
		for _, k := range inner {
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(k) + `\b`).MatchString(doc) {
				t.Errorf("decide()/walk()'s %q holds %q, which the capability's doc %q does not name", key, k, doc)
			}
		}
	}
	for key := range resultDoc {
		if _, ok := shape[key]; !ok {
			t.Errorf("`llmgw test --capabilities` lists result key %q, which walk() does not return", key)
		}
	}
	if !slices.ContainsFunc(caps, func(c builtins.Capability) bool { return c.Group == "hook" && strings.HasPrefix(c.Name, "sticky_key(") }) {
		t.Error("`llmgw test --capabilities` does not list the sticky_key hook")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestCapabilitiesText checks that the text listing shows every name and
// doc of the JSON one, under its group's heading.
func TestCapabilitiesText(t *testing.T) {
	out, _, code := runCmd(t, "", nil, "test", "--capabilities")
	if code != 0 {
		t.Fatalf("llmgw test --capabilities: exit %d", code)
	}
	for _, c := range listed(t) {
		heading := strings.Index(out, "\n["+c.Group+"]\n")
		name := strings.Index(out, "  "+c.Name+" ")
		if name < 0 {
			name = strings.Index(out, "  "+c.Name+"\n")
		}
		doc := strings.Index(out[max(name, 0):], "  "+c.Doc+"\n")
		if heading < 0 || name < heading || doc < 0 {
			t.Errorf("llmgw test --capabilities does not show %s %q with its doc under [%s]", c.Group, c.Name, c.Group)
		}
	}
}

package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

var funcs = template.FuncMap{
	"join":      strings.Join,
	"has":       slices.Contains[[]string],
	"pct":       func(f float64) string { return fmt.Sprintf("%.3f%%", f*100) },
	"isService": func(name string) bool { return slices.Contains(serviceFields, name) },
	"faultsOf":  func(a []*Active) faultsView { return faultsView{Active: a} },
	"ms":        func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) },
	"list":      func(s ...string) []string { return s },
	"lower":     func(s any) string { return strings.ToLower(fmt.Sprint(s)) },
	"add":       func(a, b int) int { return a + b },
	"sub":       func(a, b int) int { return a - b },
	"deadline":  deadlineIn,
	"actionOf": func(row deskRow, action string, v deskView) deskActionView {
		return deskActionView{Row: row, Action: action, View: v}
	},
}

// page is the data of every full page.
type page struct {
	Title  string
	Nav    string
	System string
	Body   any
}

func (c *Console) render(w http.ResponseWriter, code int, name string, data any) {
	var buf bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		c.log.Error("Console template failed", "template", name, "err", err)
		http.Error(w, "template "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

func (c *Console) full(w http.ResponseWriter, code int, nav, title string, body any) {
	c.render(w, code, "layout", page{Title: title, Nav: nav, System: c.cfg.Info().System, Body: body})
}

// formView is one inject form as rendered: values and errors of the last
// submission, or a message after success.
type formView struct {
	Form
	Service string
	Values  url.Values
	Errors  FieldErrors
	Done    string
}

type injectView struct {
	Services []string
	Service  string
	Forms    []formView
	Active   []*Active
}

func (c *Console) services() []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range c.cfg.Info().IDs() {
		s := c.cfg.Info().Services[id].Service
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (c *Console) injectPage(w http.ResponseWriter, r *http.Request) {
	v := injectView{Services: c.services(), Service: r.URL.Query().Get("service"), Active: c.reg.list()}
	if v.Service == "" && len(v.Services) > 0 {
		v.Service = v.Services[0]
	}
	for _, f := range c.forms {
		v.Forms = append(v.Forms, formView{Form: f, Service: v.Service})
	}
	c.full(w, http.StatusOK, "inject", "Inject", v)
}

func (c *Console) formOf(typ string) (Form, bool) {
	for _, f := range c.forms {
		if f.Type == typ {
			return f, true
		}
	}
	return Form{}, false
}

// inject applies one submitted form. An htmx request gets the form back
// (with errors, or a confirmation); a plain form post is redirected.
func (c *Console) inject(w http.ResponseWriter, r *http.Request) {
	f, ok := c.formOf(r.PathValue("type"))
	if !ok {
		http.Error(w, fmt.Sprintf("no fault class %q (valid: %s)", r.PathValue("type"), strings.Join(spec.ActionTypes, ", ")), http.StatusNotFound)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	values := r.PostForm
	fv := formView{Form: f, Values: values, Service: firstOf(values, serviceFields)}
	a, err := f.Decode(values)
	if err != nil {
		fe, ok := err.(FieldErrors)
		if !ok {
			fe = FieldErrors{"": err.Error()}
		}
		fv.Errors = fe
		c.respondForm(w, r, http.StatusBadRequest, fv)
		return
	}
	if err := c.checkTargetUp(r.Context(), a); err != nil {
		fv.Errors = FieldErrors{"": err.Error() + "; nothing was injected"}
		c.respondForm(w, r, http.StatusConflict, fv)
		return
	}
	act, err := c.reg.inject(r.Context(), a)
	if err != nil {
		fv.Errors = FieldErrors{"": "inject failed, nothing of it stays installed: " + err.Error()}
		c.respondForm(w, r, http.StatusBadGateway, fv)
		return
	}
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/inject?service="+url.QueryEscape(fv.Service), http.StatusSeeOther)
		return
	}
	w.Header().Set("HX-Trigger", "faults-changed")
	c.respondForm(w, r, http.StatusOK, formView{Form: f, Service: fv.Service, Done: act.ID + ": " + act.Describe})
}

func firstOf(values url.Values, keys []string) string {
	for _, k := range keys {
		if v := values.Get(k); v != "" {
			return v
		}
	}
	return ""
}

func (c *Console) respondForm(w http.ResponseWriter, r *http.Request, code int, fv formView) {
	if r.Header.Get("HX-Request") != "" {
		c.render(w, code, "form", fv)
		return
	}
	c.full(w, code, "inject", "Inject", injectView{Services: c.services(), Service: fv.Service, Forms: []formView{fv}, Active: c.reg.list()})
}

// checkTargetUp refuses a fault on a service none of whose instances runs
// healthy: its proxy or API would take the fault, but nothing would meet
// it, or (in-app) the API would not answer halfway through.
func (c *Console) checkTargetUp(ctx context.Context, a spec.Action) error {
	var services []string
	switch a := a.(type) {
	case *spec.MessageAction, *spec.InAppAction, *spec.NetworkAction, *spec.OutageAction:
		services = []string{a.Target()}
	case *spec.PartitionAction:
		services = a.Links
	default:
		return nil // process and broker faults act on down services too (restart, resume)
	}
	info := c.cfg.Info()
	for _, svc := range services {
		found := false
		for _, id := range info.IDs() {
			s := info.Services[id]
			if s.Service != svc {
				continue
			}
			found = true
			state := lab.ProcessState(s.PID)
			if state != "running" {
				return fmt.Errorf("service %s is down (instance %s is %s)", svc, id, state)
			}
			if err := lab.CheckHealth(ctx, s.HTTP); err != nil {
				return fmt.Errorf("service %s is down (instance %s does not answer its health check: %v)", svc, id, err)
			}
		}
		if !found {
			return fmt.Errorf("no service %s in this lab", svc)
		}
	}
	return nil
}

type faultsView struct {
	Active []*Active
	Error  string
}

func (c *Console) faultList(w http.ResponseWriter, _ *http.Request) {
	c.render(w, http.StatusOK, "faults", faultsView{Active: c.reg.list()})
}

func (c *Console) heal(w http.ResponseWriter, r *http.Request) {
	err := c.reg.heal(r.Context(), r.PathValue("id"))
	c.afterHeal(w, r, err)
}

func (c *Console) healAll(w http.ResponseWriter, r *http.Request) {
	c.afterHeal(w, r, c.reg.healAll(r.Context()))
}

func (c *Console) afterHeal(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusOK
	v := faultsView{Active: c.reg.list()}
	switch {
	case errors.Is(err, errNoFault):
		code, v.Error = http.StatusNotFound, err.Error()
	case err != nil:
		code, v.Error = http.StatusBadGateway, "heal failed: "+err.Error()
	}
	if r.Header.Get("HX-Request") == "" && err == nil {
		http.Redirect(w, r, "/inject", http.StatusSeeOther)
		return
	}
	w.Header().Set("HX-Trigger", "faults-changed")
	c.render(w, code, "faults", v)
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

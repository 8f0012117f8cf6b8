package run

import (
	"log/slog"
	"time"

	"github.com/ticketflow-lab/tflab/anomalies"
	"github.com/ticketflow-lab/tflab/internal/lab"
	"github.com/ticketflow-lab/tflab/scenarios/history"
	"github.com/ticketflow-lab/tflab/scenarios/spec"
)

// The exports below let the lab console inject a fault by click exactly as a
// scenario step is injected: the same executor, the same environment, the
// same history.Fault record.

// AnomalyOf turns a scenario action into the executor the runner uses for it.
func AnomalyOf(a spec.Action, env *anomalies.Env) (anomalies.Anomaly, error) {
	return anomalyOf(a, env)
}

// EnvOf describes a running lab to the fault executors as a run does.
func EnvOf(l *lab.Lab, log *slog.Logger) *anomalies.Env {
	return (&runner{log: log}).buildEnv(l)
}

// WithResolved is the fault record f with what an anomaly chose as it was
// injected (a cluster step's leader node) added to its parameters.
func WithResolved(f history.Fault, a anomalies.Anomaly) history.Fault {
	if r, ok := a.(anomalies.Resolver); ok {
		f.Params = withResolved(f.Params, r)
	}
	return f
}

// FaultOf is the journal record of a step before it runs.
func FaultOf(name string, a spec.Action, at time.Duration) history.Fault {
	op := ""
	switch a := a.(type) {
	case *spec.NetworkAction:
		op = a.Toxic
	case *spec.ProcessAction:
		op = a.Op
	case *spec.BrokerAction:
		op = a.Op
	case *spec.ClusterAction:
		op = a.Op
	case *spec.InAppAction:
		op = a.Anomaly
	case *spec.MessageAction:
		op = a.Fault
	case *spec.OutageAction:
		op = "link-down"
	case *spec.PartitionAction:
		op = "links-down"
	}
	return history.Fault{Name: name, Type: a.Type(), Op: op, Target: a.Target(), Params: a.Params(), PlannedAt: history.Duration(at)}
}

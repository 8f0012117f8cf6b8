package anomaly_test

import (
	"errors"
	"fmt"

	"github.com/ticketflow-lab/tflab/system/ticketflow/anomaly"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// A service checks the registry at each injection point of a handling.
func Example() {
	reg := anomaly.NewRegistry(nil)
	a, err := anomaly.Request{
		AnomalyType:      "ConsumerErrorBeforeHandler",
		MessageType:      contracts.TypeTicketResolved,
		AdditionalParams: map[string]string{"StatusFilter": "Resolved"},
	}.Parse()
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := reg.Enable(a); err != nil {
		fmt.Println(err)
		return
	}
	msg := contracts.TicketResolved{TicketID: "t1", Version: 7, Status: contracts.StatusResolved}
	act := reg.Check(anomaly.BeforeHandler, msg.MessageType(), contracts.TicketStatusOf(msg))
	fmt.Println(errors.Is(act.Err, anomaly.ErrGenerated))
	fmt.Println(reg.Check(anomaly.AfterHandler, msg.MessageType(), "Resolved").None())

	_, err = anomaly.Request{AnomalyType: "Meltdown", MessageType: "X"}.Parse()
	fmt.Println(err)
	// Output:
	// true
	// true
	// unknown anomaly type "Meltdown" (known: ConsumerErrorBeforeHandler, ConsumerErrorAfterHandler, ConsumerDelayBeforeHandler, ConsumerDelayAfterHandler, ProducerErrorBeforeTransaction, ProducerErrorWithinTransaction, ProducerErrorAfterTransaction, OutboxErrorOnSave, OutboxErrorOnPublish)
}

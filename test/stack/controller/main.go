// Command controller is the stack's stand-in for Argo's workflow
// controller, which the stack does not run (it would need pods). It acts
// only on workflows annotated argo-cred.test/duration (a Go duration): it
// moves such a workflow to Running at once, then, that long after it
// started, to Succeeded, or to Failed when argo-cred.test/outcome is
// "Failed", with startedAt and finishedAt set as the real controller sets
// them; every other workflow is left alone. So `argo submit --wait`,
// `argo wait` and `argo watch` run for real against the stack, for as long
// as a test asks.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	durationKey = "argo-cred.test/duration"
	outcomeKey  = "argo-cred.test/outcome"
)

var workflows = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "the admin kubeconfig")
	flag.Parse()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatal(err)
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	c := &controller{client: client.Resource(workflows), timers: map[types.UID]bool{}}
	for ctx.Err() == nil {
		if err := c.watch(ctx); err != nil && ctx.Err() == nil {
			log.Printf("watch: %v; again in 1s", err)
			time.Sleep(time.Second)
		}
	}
}

type controller struct {
	client dynamic.NamespaceableResourceInterface
	mu     sync.Mutex
	timers map[types.UID]bool // workflows with a finish scheduled
}

// watch lists the workflows, then watches them until the watch ends.
func (c *controller) watch(ctx context.Context) error {
	list, err := c.client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range list.Items {
		c.act(ctx, &list.Items[i])
	}
	fmt.Println("watching workflows")
	w, err := c.client.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	if err != nil {
		return err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if wf, ok := ev.Object.(*unstructured.Unstructured); ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
			c.act(ctx, wf)
		}
	}
	return nil
}

// act moves an annotated workflow on: to Running, and schedules its end.
func (c *controller) act(ctx context.Context, wf *unstructured.Unstructured) {
	d, err := time.ParseDuration(wf.GetAnnotations()[durationKey])
	if err != nil {
		return // not ours
	}
	phase, _, _ := unstructured.NestedString(wf.Object, "status", "phase")
	if phase == "Succeeded" || phase == "Failed" {
		return
	}
	started := time.Now().UTC()
	if phase == "" {
		c.patch(ctx, wf, "Running", map[string]any{"startedAt": started.Format(time.RFC3339)})
	} else if s, _, _ := unstructured.NestedString(wf.Object, "status", "startedAt"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			started = t
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timers[wf.GetUID()] {
		return
	}
	c.timers[wf.GetUID()] = true
	end := "Succeeded"
	if wf.GetAnnotations()[outcomeKey] == "Failed" {
		end = "Failed"
	}
	time.AfterFunc(time.Until(started.Add(d)), func() {
		c.patch(ctx, wf, end, map[string]any{"finishedAt": time.Now().UTC().Format(time.RFC3339), "message": "stand-in controller: " + end})
		c.mu.Lock()
		delete(c.timers, wf.GetUID())
		c.mu.Unlock()
	})
}

// patch sets the workflow's phase, the other status fields given and the
// phase label, as the real controller does, on the workflow of that UID only.
func (c *controller) patch(ctx context.Context, wf *unstructured.Unstructured, phase string, status map[string]any) {
	status["phase"] = phase
	labels := map[string]any{"workflows.argoproj.io/phase": phase}
	if phase == "Succeeded" || phase == "Failed" {
		labels["workflows.argoproj.io/completed"] = "true"
	}
	body, _ := json.Marshal(map[string]any{"metadata": map[string]any{"uid": string(wf.GetUID()), "labels": labels}, "status": status})
	if _, err := c.client.Namespace(wf.GetNamespace()).Patch(ctx, wf.GetName(), types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
		log.Printf("%s/%s: %v", wf.GetNamespace(), wf.GetName(), err)
		return
	}
	fmt.Printf("%s/%s: %s\n", wf.GetNamespace(), wf.GetName(), phase)
}

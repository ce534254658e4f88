package tracker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// The job registry: one item per job in the same table, so that a sweep can find every job
// without a Scan. Its key starts with the separator (a task's key starts with a non-empty job
// id) and its index value is the separator and "jobs", which no {job_id}____{NN} can be: the
// seed's queries by job and status never see it.
const (
	registryKeyPrefix = Separator + "jobs" + Separator
	registryValue     = Separator + "jobs"
	attrLastRun       = "last_run"
)

// Job is a job in the registry.
type Job struct {
	JobID string `json:"job_id"`
	// Created is when its first task was created through this package.
	Created time.Time `json:"created"`
	// Updated is when tasks were last added to it.
	Updated time.Time `json:"updated"`
	// LastRun is when a run (the state machine's, or RecordRun's caller) last started on it;
	// zero if never.
	LastRun time.Time `json:"last_run,omitzero"`
}

type jobItem struct {
	Key        string `dynamodbav:"key"`
	CreateTime string `dynamodbav:"create_time"`
	UpdateTime string `dynamodbav:"update_time"`
	LastRun    string `dynamodbav:"last_run,omitempty"`
}

// register records job in the registry (one UpdateItem; idempotent): created the first time,
// updated every time.
func (t *Tracker) register(ctx context.Context, job string) error {
	return t.touchJob(ctx, job, attrUpdateTime)
}

// RecordRun notes in the registry that a run starts on job now (one UpdateItem).
func (t *Tracker) RecordRun(ctx context.Context, job string) error {
	if err := ValidateJob(job); err != nil {
		return err
	}
	return t.touchJob(ctx, job, attrLastRun)
}

func (t *Tracker) touchJob(ctx context.Context, job, attr string) error {
	now := formatTime(t.now())
	update := expression.Set(expression.Name(StatusAttribute), expression.Value(registryValue)).
		Set(expression.Name(attrCreateTime), expression.IfNotExists(expression.Name(attrCreateTime), expression.Value(now))).
		Set(expression.Name(attr), expression.Value(now))
	if attr != attrUpdateTime {
		update = update.Set(expression.Name(attrUpdateTime), expression.IfNotExists(expression.Name(attrUpdateTime), expression.Value(now)))
	}
	expr, err := expression.NewBuilder().WithUpdate(update).Build()
	if err != nil {
		return err
	}
	_, err = t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(t.cfg.Table), Key: keyAVRaw(registryKeyPrefix + job),
		UpdateExpression: expr.Update(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	if err != nil {
		return fmt.Errorf("register job %s: %w", job, err)
	}
	return nil
}

// Jobs lists the registered jobs, ordered by id, from the index (no Scan).
func (t *Tracker) Jobs(ctx context.Context) ([]Job, error) {
	var jobs []Job
	err := t.queryAll(ctx, indexQuery{value: registryValue}, func(out *dynamodb.QueryOutput) error {
		for _, av := range out.Items {
			var it jobItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return fmt.Errorf("decode job item: %w", err)
			}
			j := Job{JobID: strings.TrimPrefix(it.Key, registryKeyPrefix)}
			for _, f := range []struct {
				text string
				dst  *time.Time
			}{{it.CreateTime, &j.Created}, {it.UpdateTime, &j.Updated}, {it.LastRun, &j.LastRun}} {
				if f.text == "" {
					continue
				}
				var err error
				if *f.dst, err = parseTime(f.text); err != nil {
					return fmt.Errorf("decode job %s: %w", j.JobID, err)
				}
			}
			jobs = append(jobs, j)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return jobs, nil
}

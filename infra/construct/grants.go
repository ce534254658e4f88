package construct

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// leadingKeys is the condition a statement puts on the leading keys of a request
// (dynamodb:LeadingKeys: an item's key on the table, the value queried on the index): every
// one is like one of like (none: any key) and like none of notLike.
type leadingKeys struct{ like, notLike []string }

// condition is the statement's Condition, nil for none.
func (k leadingKeys) condition() *map[string]any {
	c := map[string]any{}
	if len(k.like) > 0 {
		c["ForAllValues:StringLike"] = map[string]any{"dynamodb:LeadingKeys": k.like}
	}
	if len(k.notLike) > 0 {
		c["ForAllValues:StringNotLike"] = map[string]any{"dynamodb:LeadingKeys": k.notLike}
	}
	if len(c) == 0 {
		return nil
	}
	return &c
}

// jobKeys are the keys of the tenants' jobs: a task's {job}____{task}, the registry's
// {job}____ and the index's {job}____{code}, which all start with the job's id; any key
// without tenants.
func jobKeys(tenants []string) leadingKeys {
	var k leadingKeys
	for _, prefix := range tenants {
		k.like = append(k.like, prefix+"*")
	}
	return k
}

// legacyRegistryPrefix starts the registry items of earlier versions, ____jobs____{job},
// which the tracker still reads (tracker.Job) and `trackerctl upgrade-table` moves.
const legacyRegistryPrefix = tracker.Separator + "jobs" + tracker.Separator

// registryKeys are the keys of the job registry's items of the tenants' jobs (of every job
// without tenants): {job}____, and with legacy the ____jobs____{job} of earlier versions too,
// which the tracker reads but no longer writes. A task's key {job}____{task} ends with the
// separator too when the task's id is one to three underscores, which ids may be; its key
// then ends with five underscores or more, and a registry item's never does (a job id does
// not end with one), so such keys are excluded.
func registryKeys(tenants []string, legacy bool) leadingKeys {
	prefixes := tenants
	if len(prefixes) == 0 {
		prefixes = []string{""}
	}
	k := leadingKeys{notLike: []string{"*" + tracker.Separator + "_"}}
	for _, prefix := range prefixes {
		k.like = append(k.like, prefix+"*"+tracker.Separator)
	}
	if legacy {
		for _, prefix := range prefixes {
			k.like = append(k.like, legacyRegistryPrefix+prefix+"*")
		}
	}
	return k
}

// grantTableAccess gives each function the DynamoDB actions it calls, on the table or the
// index it calls them on, on the items it calls them on, and nothing else (no Scan, no
// table administration), on the keys of the tenants' jobs only when tenants are given. The
// worker gets none: it sees tasks only through the state machine.
//
// Every function reads a job's shards from its registry item (GetItem) before it writes
// or lists the job's tasks; that is all claim, complete and fail read of the table
// (ReturnValuesOnConditionCheckFailure tells a refused write's reason, not a GetItem).
// Only list-pending reads tasks whole (those a run names), and it writes only the
// registry: the run's lease on its job.
func (c *Tracker) grantTableAccess(tenants []string) {
	tableArn := c.Table.TableArn()
	indexArn := jsii.String(fmt.Sprintf("%s/index/%s", *tableArn, tracker.IndexName))
	failureIndexArn := jsii.String(fmt.Sprintf("%s/index/%s", *tableArn, tracker.FailureIndexName))
	jobs, registry, registryReads := jobKeys(tenants), registryKeys(tenants, false), registryKeys(tenants, true)
	for _, g := range []struct {
		fn       awslambda.Function
		action   string
		resource *string
		keys     leadingKeys
	}{
		// Claims (tracker.Claim, ClaimNext) and, at a lane's start, the renewal of the run's
		// lease on its job (RenewRun); the job's due tasks, listed on the index; the index's
		// shape, described once before the first query (it names no key).
		{c.Claim, "dynamodb:UpdateItem", tableArn, jobs},
		{c.Claim, "dynamodb:Query", indexArn, jobs},
		{c.Claim, "dynamodb:GetItem", tableArn, registryReads},
		{c.Claim, "dynamodb:DescribeTable", tableArn, leadingKeys{}},
		// The steps of bulk actions (tracker.BulkStep): a failure group or an error text,
		// listed on the failure index ({job}____{code}____{shard}), each task changed by
		// UpdateItem and the action's progress recorded ({job}________bulk____{id}), both on
		// the job's keys as its claims are. The one grant bulk actions add.
		{c.Claim, "dynamodb:Query", failureIndexArn, jobs},
		// One conditional UpdateItem each on the leased task.
		{c.Complete, "dynamodb:UpdateItem", tableArn, jobs},
		{c.Complete, "dynamodb:GetItem", tableArn, registryReads},
		{c.Fail, "dynamodb:UpdateItem", tableArn, jobs},
		{c.Fail, "dynamodb:GetItem", tableArn, registryReads},
		// Item queries and Select COUNT queries on the index; the tasks a run names; the
		// run's lease in the registry (AcquireRun, RenewRun, EndRun).
		{c.ListPending, "dynamodb:Query", indexArn, jobs},
		{c.ListPending, "dynamodb:GetItem", tableArn, jobs},
		{c.ListPending, "dynamodb:UpdateItem", tableArn, registry},
		{c.ListPending, "dynamodb:DescribeTable", tableArn, leadingKeys{}},
	} {
		g.fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:    jsii.Strings(g.action),
			Resources:  &[]*string{g.resource},
			Conditions: g.keys.condition(),
		}))
	}
}

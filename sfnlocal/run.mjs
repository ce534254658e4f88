#!/usr/bin/env node
// Runs a Step Functions (ASL) definition locally with aws-local-stepfunctions, through its
// library API (its CLI renames every error to `Error`, prints JS objects and misreads a
// non-terminal stdin). Needs Node.js 22: run it with node_modules/.bin/node.
//
//   node run.mjs --definition FILE [--input JSON | --input-file FILE|-]
//                [--execution-name NAME] [--state-machine-name NAME]
//                [--no-retry-waits] [--trace] [--subst KEY=VALUE ...]
//
// stdout gets exactly one JSON line, about the execution started here, with every execution
// the run started listed under "executions" (see executionReport):
//   {"status":"SUCCEEDED","output":...,"executions":[...]}                  exit 0
//   {"status":"FAILED","error":"...","cause":"...","executions":[...]}      exit 1
// exit 1 also when any other execution of the run failed. Usage and definition errors print a
// message on stderr and exit 2. Everything else is stderr.
//
// What the interpreter lacks, served here (and only this):
// - Task states whose Resource is a Lambda function are invoked from here, not by the
//   interpreter, so that errors reach Retry/Catch under the names Step Functions gives them:
//   a function error is the errorType of the function's error payload, as the function wrote
//   it, with that payload's JSON as Cause; an Invoke API error is Lambda.<Exception>; an API
//   that cannot be reached is Lambda.SdkClientException. The SDK makes one call per attempt:
//   the definition's Retry is the only retry. (The interpreter names them otherwise:
//   ServiceException, Error, SyntaxError, Cause "<errorType>: <message>".)
// - Task states with Resource arn:aws:states:::states:startExecution (continue-as-new, a
//   sweep's one execution per job) are served through the interpreter's
//   taskResourceLocalHandlers: the handler starts a new execution of the same definition with
//   the given Input and answers {ExecutionArn, StartDate} at once, as the AWS integration does
//   without .sync. A Name is kept as StartExecution keeps it for a Standard state machine: the
//   same name and input as a running execution answer that execution again; a name used
//   before otherwise fails with StepFunctions.ExecutionAlreadyExistsException. With
//   SFNLOCAL_LOSE_START_ANSWERS=N the first N starts start their execution and then fail with
//   StepFunctions.SdkClientException, as a start whose answer was lost does (a fault for tests).
//   The run ends when every execution has ended.
// - An error's Cause is cut to Step Functions' 32,768 characters.
// - Step Functions' payload limit: every state's input and output (from the interpreter's
//   event log) and every Lambda request and response is measured; past 262,144 bytes the
//   execution is aborted and reported FAILED with States.DataLimitExceeded, as on AWS.
//
// Lambda is called through the AWS SDK for JavaScript v3, so AWS_ENDPOINT_URL_LAMBDA,
// AWS_REGION and the credential variables apply. See README.md for what the interpreter
// does and does not support.

import { readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { StateMachine, ExecutionError, ExecutionTimeoutError } from 'aws-local-stepfunctions';
import { LambdaClient, InvokeCommand } from '@aws-sdk/client-lambda';

const USAGE = `usage: node run.mjs --definition FILE [--input JSON | --input-file FILE|-]
                   [--execution-name NAME] [--state-machine-name NAME]
                   [--no-retry-waits] [--trace] [--subst KEY=VALUE ...]

  --definition FILE          the ASL definition (JSON)
  --input JSON               the execution input (default {})
  --input-file FILE          read the execution input from FILE (- for stdin)
  --execution-name NAME      the execution's name (default: a random UUID)
  --state-machine-name NAME  the machine's name in ARNs (default: the file's base name)
  --no-retry-waits           every Retry interval takes 0 ms; Wait states wait as written
  --trace                    print the interpreter's event log to stderr, one JSON line each
  --subst KEY=VALUE ...      replace \${KEY} in the definition (repeatable; several may follow)
`;

class UsageError extends Error {}

const ACCOUNT = '123456789012';
const REGION = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
// The interpreter's Lambda client reads the region from the environment: give it the one the ARNs use.
process.env.AWS_REGION = REGION;
// A local runner has no business probing the EC2 instance metadata service for credentials.
process.env.AWS_EC2_METADATA_DISABLED ??= 'true';

function parseArgs(argv) {
  const opts = { subst: new Map(), noRetryWaits: false, trace: false };
  const value = (i, flag) => {
    if (i >= argv.length) throw new UsageError(`${flag} needs a value`);
    return argv[i];
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--definition': opts.definition = value(++i, arg); break;
      case '--input': opts.input = value(++i, arg); break;
      case '--input-file': opts.inputFile = value(++i, arg); break;
      case '--execution-name': opts.executionName = value(++i, arg); break;
      case '--state-machine-name': opts.machineName = value(++i, arg); break;
      case '--no-retry-waits': opts.noRetryWaits = true; break;
      case '--trace': opts.trace = true; break;
      case '--subst': {
        // --subst A=1 --subst B=2, or --subst A=1 B=2: take every KEY=VALUE that follows.
        const start = i;
        while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
          const kv = argv[++i];
          const eq = kv.indexOf('=');
          if (eq <= 0) throw new UsageError(`--subst wants KEY=VALUE, got ${JSON.stringify(kv)}`);
          const key = kv.slice(0, eq);
          if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new UsageError(`--subst: bad key ${JSON.stringify(key)}`);
          opts.subst.set(key, kv.slice(eq + 1));
        }
        if (i === start) throw new UsageError('--subst needs KEY=VALUE');
        break;
      }
      case '-h': case '--help': process.stdout.write(USAGE); process.exit(0);
      // falls through (never reached)
      default: throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (!opts.definition) throw new UsageError('--definition is required');
  if (opts.input !== undefined && opts.inputFile !== undefined) {
    throw new UsageError('give --input or --input-file, not both');
  }
  if (opts.executionName !== undefined && !/^[A-Za-z0-9_-]{1,80}$/.test(opts.executionName)) {
    throw new UsageError('--execution-name: 1-80 characters of A-Z a-z 0-9 _ -');
  }
  return opts;
}

function readText(file, what) {
  try {
    return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${file}: ${err.message}`);
  }
}

function parseJSON(text, what) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${err.message}`);
  }
}

// substitute replaces ${Key} in the definition's text, like definition substitutions in
// CloudFormation/CDK. A value is JSON-string escaped, since placeholders stand inside strings.
export function substitute(text, subst) {
  const used = new Set();
  const out = text.replace(/\$\{([A-Za-z0-9_.-]+)\}/g, (whole, key) => {
    if (!subst.has(key)) return whole;
    used.add(key);
    return JSON.stringify(subst.get(key)).slice(1, -1);
  });
  const left = [...new Set([...out.matchAll(/\$\{[^}]*\}/g)].map((m) => m[0]))];
  if (left.length > 0) {
    throw new UsageError(`unresolved substitution(s) in the definition: ${left.join(', ')} (pass --subst KEY=VALUE)`);
  }
  const unused = [...subst.keys()].filter((k) => !used.has(k));
  return { text: out, unused };
}

// eachState calls fn(name, state) for every state, nested ones too: Map ItemProcessor (or
// Iterator) and Parallel Branches. The interpreter keys overrides by state name alone, at every depth.
export function eachState(machine, fn) {
  for (const [name, state] of Object.entries(machine?.States ?? {})) {
    fn(name, state);
    if (state.Type === 'Map') eachState(state.ItemProcessor ?? state.Iterator, fn);
    if (state.Type === 'Parallel') for (const branch of state.Branches ?? []) eachState(branch, fn);
  }
}

function overridesFor(definition, opts, run) {
  const overrides = {};
  if (opts.noRetryWaits) {
    overrides.retryIntervalOverrides = {};
    eachState(definition, (name, state) => {
      if (Array.isArray(state.Retry)) overrides.retryIntervalOverrides[name] = 0;
    });
  }
  overrides.taskResourceLocalHandlers = {
    ...lambdaHandlers(definition, run),
    ...startExecutionHandlers(definition, run),
  };
  return overrides;
}

// The payload limit of every state's input and output, and of a task's request and result.
export const MAX_PAYLOAD_BYTES = 262144;
const START_EXECUTION = 'arn:aws:states:::states:startExecution';

function payloadBytes(value) {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value), 'utf8');
}

// startExecutionHandlers serves the startExecution integration: a new execution of the same
// definition, started without waiting for it, as on AWS.
function startExecutionHandlers(definition, run) {
  const handlers = {};
  eachState(definition, (name, state) => {
    if (state.Type === 'Task' && state.Resource === START_EXECUTION) {
      handlers[name] = async (input) => {
        if (input?.StateMachineArn !== run.machineArn) {
          throw namedError('StepFunctions.StateMachineDoesNotExistException', `run.mjs serves only this state machine (${run.machineArn}), not ${input?.StateMachineArn}`);
        }
        let child = input.Input ?? {};
        if (typeof child === 'string') child = JSON.parse(child);
        if (input.Name !== undefined) {
          const same = run.executions.find((e) => e.name === input.Name);
          if (same !== undefined) {
            if (same.status === 'RUNNING' && JSON.stringify(same.input) === JSON.stringify(child)) {
              return { ExecutionArn: same.arn, StartDate: same.startDate };
            }
            throw namedError('StepFunctions.ExecutionAlreadyExistsException', `Execution Already Exists: '${same.arn}'`);
          }
        }
        const ex = run.start(child, input.Name, child?.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID);
        if (run.loseStartAnswers > 0) {
          run.loseStartAnswers--;
          throw namedError('StepFunctions.SdkClientException', 'Unable to execute HTTP request: the answer was lost (run.mjs: SFNLOCAL_LOSE_START_ANSWERS)');
        }
        return { ExecutionArn: ex.arn, StartDate: ex.startDate };
      };
    }
  });
  return handlers;
}

// lambdaHandlers serves every Task state whose Resource is a Lambda function (see invokeLambda).
// The SDK does not retry (unless AWS_MAX_ATTEMPTS says so): the definition's Retry does.
function lambdaHandlers(definition, run) {
  const byName = new Map();
  eachState(definition, (name, state) => {
    if (state.Type !== 'Task' || !isLambdaFunction(state.Resource)) return;
    const seen = byName.get(name);
    if (seen !== undefined && seen !== state.Resource) {
      throw new UsageError(`two Task states are named ${JSON.stringify(name)} with different resources`);
    }
    byName.set(name, state.Resource);
  });
  const client = new LambdaClient({ maxAttempts: Number(process.env.AWS_MAX_ATTEMPTS) || 1 });
  const handlers = {};
  for (const [name, resource] of byName) {
    handlers[name] = async (input) => {
      run.checkPayload(name, 'request', input);
      run.enter(name);
      try {
        const out = await invokeLambda(client, resource, input);
        run.checkPayload(name, 'result', out);
        return out;
      } finally {
        run.leave(name);
      }
    };
  }
  return handlers;
}

function isLambdaFunction(resource) {
  return typeof resource === 'string' &&
    (/^arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$/.test(resource) || /^[A-Za-z0-9_-]+$/.test(resource));
}

function namedError(name, cause) {
  const err = new Error(cause);
  err.name = name;
  return err;
}

// invokeLambda calls the function and returns its result, or throws the error Step Functions
// would hand to Retry/Catch. The function's errorType is taken as the Lambda API gives it (the
// error payload of an answer flagged with X-Amz-Function-Error), never inferred here.
export async function invokeLambda(client, functionName, input) {
  let out;
  try {
    out = await client.send(new InvokeCommand({
      FunctionName: functionName,
      Payload: new TextEncoder().encode(JSON.stringify(input)),
    }));
  } catch (err) {
    const status = err.$metadata?.httpStatusCode;
    if (status === undefined) {
      throw namedError('Lambda.SdkClientException', `Unable to execute HTTP request: ${err.message}`);
    }
    // A modeled Lambda exception keeps its name; an unmodeled or unreadable answer gets Step
    // Functions' generic name, Lambda.AWSLambdaException.
    const modeled = err.$fault !== undefined && /^[A-Z][A-Za-z]*Exception$/.test(err.name);
    throw namedError(`Lambda.${modeled ? err.name : 'AWSLambdaException'}`,
      `${err.message} (Service: AWSLambda; Status Code: ${status}; Error Code: ${err.name}; ` +
      `Request ID: ${err.$metadata?.requestId ?? 'null'}; Proxy: null)`);
  }
  const text = out.Payload && out.Payload.length > 0 ? new TextDecoder().decode(out.Payload) : 'null';
  if (out.FunctionError) {
    let errorType;
    try { errorType = JSON.parse(text)?.errorType; } catch { /* not JSON */ }
    throw namedError(typeof errorType === 'string' && errorType !== '' ? errorType : 'Lambda.Unknown', cutCause(text));
  }
  return JSON.parse(text);
}

// MAX_CAUSE_CHARS is the longest Cause Step Functions keeps of an error.
export const MAX_CAUSE_CHARS = 32768;

// cutCause cuts a Cause to MAX_CAUSE_CHARS characters (code points), as Step Functions does.
export function cutCause(text) {
  if (text.length <= MAX_CAUSE_CHARS) return text;
  return Array.from(text).slice(0, MAX_CAUSE_CHARS).join('');
}

function failure(err) {
  if (err instanceof ExecutionTimeoutError) return { error: 'States.Timeout', cause: 'The execution timed out (TimeoutSeconds)' };
  const inner = err instanceof ExecutionError && err.cause ? err.cause : err;
  return { error: String(inner?.name ?? 'Error'), cause: String(inner?.message ?? '') };
}

function emit(line) {
  process.stdout.write(JSON.stringify(line) + '\n');
}

async function main(argv) {
  const opts = parseArgs(argv);
  const raw = readText(opts.definition, 'definition');
  const { text, unused } = substitute(raw, opts.subst);
  for (const key of unused) process.stderr.write(`run.mjs: warning: --subst ${key} matches no \${${key}} in the definition\n`);
  const definition = parseJSON(text, `definition ${opts.definition}`);
  const input = opts.inputFile !== undefined ? parseJSON(readText(opts.inputFile, 'input file'), 'input file')
    : opts.input !== undefined ? parseJSON(opts.input, '--input') : {};

  let machine;
  try {
    machine = new StateMachine(definition);
  } catch (err) {
    throw new UsageError(err.message);
  }
  const machineName = opts.machineName ?? (basename(opts.definition).replace(/(\.asl)?\.json$/, '') || 'statemachine');
  const run = new Run(machine, definition, machineName, opts);
  run.overrides = overridesFor(definition, opts, run);
  const root = run.start(input, opts.executionName, undefined);
  await run.settled();
  const line = { ...root.report(), executions: run.executions.map((ex) => ex.report()), peak_in_flight: run.peakInFlight };
  emit(line);
  return run.executions.every((ex) => ex.status === 'SUCCEEDED') ? 0 : 1;
}

// Run holds every execution of one run: the one started from the command line and those its
// startExecution states started.
class Run {
  constructor(machine, definition, machineName, opts) {
    this.machine = machine;
    this.opts = opts;
    this.machineName = machineName;
    this.machineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${machineName}`;
    this.executions = [];
    this.pending = new Set();
    this.loseStartAnswers = Number(process.env.SFNLOCAL_LOSE_START_ANSWERS) || 0;
    // Lambda calls in flight by state name, and the most at once: the concurrency a run
    // really used (its workers' at Work).
    this.inFlight = {};
    this.peakInFlight = {};
    this.current = new Map(); // state name -> the execution whose handler runs (see checkPayload)
    // Which states belong to a Distributed Map's children: their events count for the children.
    this.childStates = new Set();
    this.distributedMaps = new Set();
    eachState(definition, (name, state) => {
      if (state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') {
        this.distributedMaps.add(name);
        eachState(state.ItemProcessor, (inner) => this.childStates.add(inner));
      }
    });
  }

  enter(name) {
    this.inFlight[name] = (this.inFlight[name] ?? 0) + 1;
    this.peakInFlight[name] = Math.max(this.peakInFlight[name] ?? 0, this.inFlight[name]);
  }

  leave(name) {
    this.inFlight[name]--;
  }

  start(input, name, parentArn) {
    const executionName = name ?? randomUUID();
    const ex = new Execution(this, executionName, parentArn);
    ex.input = input;
    this.executions.push(ex);
    const context = {
      Execution: {
        Id: ex.arn,
        Name: executionName,
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/${this.machineName}-role`,
        // Input and StartTime are set by the interpreter.
      },
      StateMachine: { Id: this.machineArn, Name: this.machineName },
    };
    process.stderr.write(`run.mjs: execution ${ex.arn}${parentArn ? ` (started by ${parentArn})` : ''}\n`);
    const execution = this.machine.run(input, { context, overrides: this.overrides });
    ex.abort = () => execution.abort();
    const logs = ex.follow(execution.eventLogs);
    const done = execution.result.then(
      (output) => ex.succeeded(output),
      (err) => ex.failed(err),
    ).then(() => logs);
    this.pending.add(done);
    done.finally(() => this.pending.delete(done));
    return ex;
  }

  async settled() {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  // checkPayload aborts the execution that runs state `name` when payload passes the limit.
  // Lambda handlers do not know their execution, so every running execution with that state in
  // flight is a suspect; the first one found running it is charged.
  checkPayload(name, what, payload) {
    const bytes = payloadBytes(payload);
    const running = this.executions.filter((ex) => ex.status === 'RUNNING');
    // The event log may not have told yet that the state was entered: then the first running
    // execution is charged (a run's executions share one definition and its limits).
    const ex = running.find((e) => e.inFlight.has(name)) ?? running[0];
    ex?.measure(name, what, bytes);
  }
}

// Execution is one execution's record, built from the interpreter's event log.
class Execution {
  constructor(run, name, parentArn) {
    this.run = run;
    this.name = name;
    this.arn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${run.machineName}:${name}`;
    this.parent = parentArn;
    this.startDate = new Date().toISOString();
    this.status = 'RUNNING';
    this.states = {}; // state name -> times entered
    this.retries = {}; // state name -> retries
    this.children = 0; // Distributed Map iterations: child executions
    this.childStates = 0; // states entered by those children
    this.childStatesByName = {}; // state name -> times its children entered it
    this.maxPayload = { bytes: 0 };
    this.inFlight = new Map();
    // Distributed Map children (lanes): when each started, and how long each lived, in ms.
    this.childStart = new Map();
    this.childMs = [];
    // The events Step Functions logs at level ERROR (a state's failure, retried or caught or
    // not, a Map iteration's, the execution's), its children's included, and the bytes of
    // their error names and causes: what a run's ERROR-level logs hold beyond each record's
    // fixed envelope.
    this.errorEvents = 0;
    this.errorBytes = 0;
  }

  async follow(eventLogs) {
    for await (const event of eventLogs) {
      if (this.run.opts.trace) process.stderr.write(JSON.stringify({ execution: this.name, ...event }) + '\n');
      const state = event.state;
      switch (event.type) {
        case 'StateEntered':
          this.inFlight.set(state.name, (this.inFlight.get(state.name) ?? 0) + 1);
          if (this.run.childStates.has(state.name)) {
            this.childStates++;
            this.childStatesByName[state.name] = (this.childStatesByName[state.name] ?? 0) + 1;
          } else this.states[state.name] = (this.states[state.name] ?? 0) + 1;
          this.measure(state.name, 'input', payloadBytes(state.input));
          break;
        case 'StateExited':
          this.measure(state.name, 'output', payloadBytes(state.output));
          this.leave(state.name);
          break;
        case 'StateFailed':
          this.countError(event);
          this.leave(state.name);
          break;
        case 'StateCaught':
          this.leave(state.name);
          break;
        case 'StateRetried':
          if (!this.run.childStates.has(state.name)) this.retries[state.name] = (this.retries[state.name] ?? 0) + 1;
          break;
        case 'MapIterationStarted':
          if (this.run.distributedMaps.has(event.parentState?.name)) {
            this.children++;
            this.childStart.set(`${event.parentState.name}/${event.index}`, Date.now());
          }
          break;
        case 'ExecutionFailed':
          this.countError(event);
          break;
        case 'MapIterationFailed':
          this.countError(event);
          // falls through
        case 'MapIterationSucceeded': {
          const key = `${event.parentState?.name}/${event.index}`;
          if (this.childStart.has(key)) {
            this.childMs.push(Date.now() - this.childStart.get(key));
            this.childStart.delete(key);
          }
          break;
        }
        default:
      }
    }
  }

  // leave counts state `name` out of flight.
  leave(name) {
    const n = (this.inFlight.get(name) ?? 1) - 1;
    if (n > 0) this.inFlight.set(name, n); else this.inFlight.delete(name);
  }

  countError(event) {
    this.errorEvents++;
    this.errorBytes += Buffer.byteLength(String(event.Error ?? '')) + Buffer.byteLength(String(event.Cause ?? ''));
  }

  measure(stateName, what, bytes) {
    if (bytes > this.maxPayload.bytes) this.maxPayload = { bytes, state: stateName, what };
    if (bytes > MAX_PAYLOAD_BYTES && this.status === 'RUNNING' && this.limitError === undefined) {
      this.limitError = {
        error: 'States.DataLimitExceeded',
        cause: `The state/task '${stateName}' ${what} is ${bytes} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit (run.mjs measures it: the interpreter does not)`,
      };
      this.abort?.();
    }
  }

  succeeded(output) {
    if (this.limitError) return this.failed();
    this.status = 'SUCCEEDED';
    this.output = output === undefined ? null : output;
  }

  failed(err) {
    this.status = 'FAILED';
    Object.assign(this, this.limitError ?? failure(err));
  }

  result() {
    return this.status === 'SUCCEEDED' ? { status: this.status, output: this.output }
      : { status: this.status, error: this.error, cause: this.cause };
  }

  // report is one entry of "executions": the outcome, who started it, the states it entered
  // by name (its children's apart), its retries, its Distributed Map children and the largest
  // payload it carried.
  report() {
    return {
      name: this.name, arn: this.arn, started_by: this.parent ?? null, ...this.result(),
      states: this.states, retries: this.retries, children: this.children, child_states: this.childStates, child_states_by_name: this.childStatesByName, child_ms: this.childMs,
      error_events: this.errorEvents, error_bytes: this.errorBytes,
      max_payload: this.maxPayload,
    };
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => {
      if (err instanceof UsageError) {
        process.stderr.write(`run.mjs: ${err.message}\n`);
        if (/required|argument|needs|wants|give|bad key/.test(err.message)) process.stderr.write(USAGE);
      } else {
        process.stderr.write(`run.mjs: ${err.stack ?? err}\n`);
      }
      process.exitCode = 2;
    },
  );
}

// A Lambda runtime interface client for Node.js handlers, on Node.js's own modules alone.
//
// The local stack runs it under the AWS Lambda Runtime Interface Emulator as Lambda's nodejs
// runtime runs aws-lambda-nodejs-runtime-interface-client, and answers as it does: it loads the
// module _HANDLER names (module.function, the function possibly a nested property) from
// LAMBDA_TASK_ROOT, then takes invocations from the Runtime API at AWS_LAMBDA_RUNTIME_API one
// at a time, posting the handler's result as JSON or its error as {errorType, errorMessage,
// trace}. What it matches is cited where it does; nothing here is the client's code.

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

const API = "/2018-06-01/runtime";
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

// RuntimeError is an error of the runtime's own, named as the client's Errors.js names them
// (its name set on the prototype, "Runtime." and the class).
class RuntimeError extends Error {}
for (const name of ["ImportModuleError", "HandlerNotFound", "MalformedHandlerName", "UserCodeSyntaxError"]) {
  RuntimeError[name] = class extends RuntimeError {};
  RuntimeError[name].prototype.name = `Runtime.${name}`;
}

// formatError is the error payload as the client's toRapidResponse (src/Errors.js) and
// formatError (src/utils/error.ts) build it: the error's name and message, and its stack
// split into lines under "trace"; a thrown value that is no error is named by its type.
function formatError(error) {
  try {
    if (error instanceof Error) {
      return {
        errorType: error.name?.replaceAll("\x7F", "%7F"),
        errorMessage: error.message?.replaceAll("\x7F", "%7F"),
        trace: error.stack?.replaceAll("\x7F", "%7F").split("\n") || [],
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: "handled",
      errorMessage:
        "callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack",
      trace: [],
    };
  }
}

function request(method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, agent, method, path: API + urlPath, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function post(urlPath, body, errorType) {
  const headers = { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) };
  if (errorType !== undefined) {
    // The Runtime API's optional Lambda-Runtime-Function-Error-Type, as the client's
    // RAPIDClient.postInitError sends it; the RIE only records it, the caller sees the body.
    headers["Lambda-Runtime-Function-Error-Type"] = String(errorType);
  }
  const res = await request("POST", urlPath, body, headers);
  if (res.status !== 202) throw new Error(`${urlPath} answered ${res.status}: ${res.body}`);
}

// logError logs as the client's structured console does: one line, the error's JSON.
function logError(requestId, message, error) {
  process.stdout.write(`${new Date().toISOString()}\t${requestId}\tERROR\t${message} \t${JSON.stringify(formatError(error))}\n`);
}

// load finds the handler as the client's UserFunction.load does: the module root and
// "module.function" from _HANDLER, the module's file tried with the extensions it tries, in
// its order (none, .js, .mjs, .cjs, .ts, .mts, .cts), the function looked up by its property path.
async function load(appRoot, fullHandler) {
  if (fullHandler.includes("..")) {
    throw new RuntimeError.MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const handlerString = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(handlerString));
  const match = handlerString.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new RuntimeError.MalformedHandlerName("Bad handler");
  const [, moduleName, handlerPath] = match;
  const base = path.resolve(appRoot, moduleRoot, moduleName);
  const file = ["", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"].map((ext) => base + ext).find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
  if (!file) {
    throw new RuntimeError.ImportModuleError(`Error: Cannot find module '${moduleName}'`);
  }
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    if (e instanceof SyntaxError) throw new RuntimeError.UserCodeSyntaxError(`${e.name}: ${e.message}`);
    throw e;
  }
  const resolve = (obj) => handlerPath.split(".").reduce((nested, key) => nested && nested[key], obj);
  // A CommonJS module's exports are its default export once imported.
  const fn = resolve(mod) ?? resolve(mod.default);
  if (!fn) throw new RuntimeError.HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof fn !== "function") throw new RuntimeError.HandlerNotFound(`${fullHandler} is not a function`);
  return fn;
}

// context is the handler's context, with the properties of the client's InvokeContext.
function context(headers) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"]);
  const json = (name) => (headers[name] ? JSON.parse(headers[name]) : undefined);
  return {
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: json("lambda-runtime-client-context"),
    identity: json("lambda-runtime-cognito-identity"),
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
}

// invoke runs the handler as the client's Runtime.handleOnceNonStreaming does: an async
// handler's promise, or a callback handler's callback (a handler of three parameters).
function invoke(handler, event, ctx) {
  return new Promise((resolve, reject) => {
    const callback = (err, result) => (err != null ? reject(err) : resolve(result));
    ctx.done = callback;
    ctx.succeed = (result) => resolve(result);
    ctx.fail = (err) => reject(err ?? "handled");
    const result = handler(event, ctx, callback);
    if (result && typeof result.then === "function") result.then(resolve, reject);
    else if (handler.length < 3) resolve(result);
  });
}

let handler;
try {
  handler = await load(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), process.env._HANDLER ?? "");
} catch (e) {
  logError(undefined, "Init Error", e);
  const payload = formatError(e);
  await post("/init/error", JSON.stringify(payload), payload.errorType);
  process.exit(1);
}

for (;;) {
  const next = await request("GET", "/invocation/next");
  if (next.status !== 200) throw new Error(`invocation/next answered ${next.status}: ${next.body}`);
  const requestId = next.headers["lambda-runtime-aws-request-id"];
  if (next.headers["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"];
  else delete process.env._X_AMZN_TRACE_ID;
  let body;
  try {
    const result = await invoke(handler, JSON.parse(next.body), context(next.headers));
    body = JSON.stringify(result) ?? "null";
  } catch (e) {
    logError(requestId, "Invoke Error", e);
    const payload = formatError(e);
    await post(`/invocation/${encodeURIComponent(requestId)}/error`, JSON.stringify(payload), payload.errorType);
    continue;
  }
  await post(`/invocation/${encodeURIComponent(requestId)}/response`, body);
}

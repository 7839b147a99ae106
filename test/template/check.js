#!/usr/bin/env node
// check.js TEMPLATE - checks template.yaml (AWS SAM) without AWS: prints TAP-style
// lines ("ok N - ..." / "not ok N - ...") and exits 1 when any check failed.
//
// - it parses as YAML with the CloudFormation short-form tags (!Ref, !Sub, ...);
// - every resource type and property exists in the CloudFormation resource
//   specification (@aws-cdk/cfnspec, pinned in package-lock.json), required
//   properties are present and values have the right shape; SAM resources are
//   checked against the SAM properties this template may use;
// - every !Ref, !GetAtt (and its attribute), ${...} in !Sub, condition and
//   DependsOn names something that exists, every parameter is used, and the
//   resources have no dependency cycle (SAM's API -> function edges included);
// - the IAM policies grant s3:GetObject on the data bucket's objects and the
//   function's own log stream, nothing else;
// - the function, HTTP API, cache policy, distribution and outputs are what
//   docs/DEPLOY.md promises.
'use strict';

const fs = require('fs');
const YAML = require('yaml');
const cfnspec = require('@aws-cdk/cfnspec');

let n = 0, failed = 0;
function check(cond, what, detail) {
    n++;
    if (cond) {
        console.log(`ok ${n} - ${what}`);
    } else {
        failed++;
        console.log(`not ok ${n} - ${what}${detail ? ` (${String(detail).slice(0, 600)})` : ''}`);
    }
}

// --- parsing with CloudFormation tags ----------------------------------------------
// Each short form becomes its long form ({"Fn::Sub": ...}, {"Ref": ...}).
const FNS = ['Base64', 'Cidr', 'FindInMap', 'GetAZs', 'ImportValue', 'Join', 'Select', 'Split',
    'Sub', 'Transform', 'And', 'Equals', 'If', 'Not', 'Or', 'ToJsonString', 'Length'];
function tag(name, key, split) {
    const mk = (collection) => ({ [key]: collection });
    return [
        { tag: `!${name}`, resolve: (v) => mk(split ? v.split('.') : v) },
        { tag: `!${name}`, collection: 'seq', resolve: (seq) => mk(seq.toJSON()) },
        { tag: `!${name}`, collection: 'map', resolve: (map) => mk(map.toJSON()) },
    ];
}
const customTags = [
    ...tag('Ref', 'Ref'),
    ...tag('Condition', 'Condition'),
    ...tag('GetAtt', 'Fn::GetAtt', true),
    ...FNS.flatMap((f) => tag(f, `Fn::${f}`)),
];
// !GetAtt A.B given as a sequence stays [A, B].
customTags.forEach((t) => {
    if (t.tag === '!GetAtt' && t.collection === 'seq')
        t.resolve = (seq) => ({ 'Fn::GetAtt': seq.toJSON() });
});

const file = process.argv[2] || 'template.yaml';
let tpl = null;
try {
    const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'), { customTags, uniqueKeys: true });
    if (doc.errors.length)
        throw new Error(doc.errors.map((e) => e.message).join('; '));
    const unknownTags = [];
    YAML.visit(doc, { Node(_, node) {
        if (node.tag && !customTags.some((t) => t.tag === node.tag)) unknownTags.push(node.tag);
    } });
    if (unknownTags.length)
        throw new Error(`unknown tags ${unknownTags.join(', ')}`);
    tpl = doc.toJS();
    check(true, `${file} parses as YAML with CloudFormation tags`);
} catch (e) {
    check(false, `${file} parses as YAML with CloudFormation tags`, e.message);
    process.exit(1);
}

const params = tpl.Parameters || {}, res = tpl.Resources || {}, conds = tpl.Conditions || {};
const outputs = tpl.Outputs || {};
const topKeys = ['AWSTemplateFormatVersion', 'Transform', 'Description', 'Metadata', 'Parameters',
    'Mappings', 'Conditions', 'Resources', 'Outputs', 'Globals', 'Rules'];
const badTop = Object.keys(tpl).filter((k) => !topKeys.includes(k));
check(tpl.AWSTemplateFormatVersion === '2010-09-09' && tpl.Transform === 'AWS::Serverless-2016-10-31' &&
    badTop.length === 0, 'format version 2010-09-09, the SAM transform, only known top-level sections',
    badTop.join(', '));

// --- the resource specification ---------------------------------------------------------
const spec = cfnspec.specification();
const isIntrinsic = (v) => v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 &&
    (Object.keys(v)[0] === 'Ref' || Object.keys(v)[0].startsWith('Fn::'));

// SAM resources: the properties SAM documents for them (the ones a tile server
// could use; anything else is a typo here).
const SAM = {
    'AWS::Serverless::Function': {
        props: ['Architectures', 'CodeUri', 'DeadLetterQueue', 'DependsOn', 'Description', 'Environment',
            'EphemeralStorage', 'Events', 'FunctionName', 'FunctionUrlConfig', 'Handler', 'Layers', 'MemorySize',
            'PackageType', 'Policies', 'ReservedConcurrentExecutions', 'Role', 'Runtime', 'Tags', 'Timeout',
            'Tracing', 'VpcConfig', 'AutoPublishAlias', 'ProvisionedConcurrencyConfig', 'LoggingConfig',
            'RuntimeManagementConfig', 'SnapStart', 'KmsKeyArn'],
        required: ['CodeUri', 'Runtime', 'Handler'],
        attrs: ['Arn'],
        // These are AWS::Lambda::Function's own: checked against its specification.
        lambda: ['Architectures', 'Description', 'Environment', 'EphemeralStorage', 'FunctionName', 'Handler',
            'Layers', 'MemorySize', 'PackageType', 'ReservedConcurrentExecutions', 'Role', 'Runtime', 'Tags',
            'Timeout', 'VpcConfig', 'RuntimeManagementConfig', 'SnapStart', 'KmsKeyArn'],
    },
    'AWS::Serverless::HttpApi': {
        props: ['AccessLogSettings', 'Auth', 'CorsConfiguration', 'DefaultRouteSettings', 'DefinitionBody',
            'DefinitionUri', 'Description', 'DisableExecuteApiEndpoint', 'Domain', 'FailOnWarnings',
            'RouteSettings', 'StageName', 'StageVariables', 'Tags', 'Name'],
        required: [],
        attrs: ['ApiEndpoint'],
    },
};
const SAM_EVENT_HTTPAPI = ['ApiId', 'Method', 'Path', 'PayloadFormatVersion', 'RouteSettings', 'TimeoutInMillis',
    'Auth'];

// checkValue(value, {PrimitiveType|Type|ItemType|PrimitiveItemType}, resourceType, path, problems)
function checkValue(v, p, rtype, path, problems) {
    if (isIntrinsic(v))
        return;
    const prim = (t, x) => {
        if (isIntrinsic(x)) return true;
        switch (t) {
        case 'String': return typeof x === 'string' || typeof x === 'number';
        case 'Integer': case 'Long': case 'Double': return typeof x === 'number' || /^-?[0-9.]+$/.test(String(x));
        case 'Boolean': return typeof x === 'boolean' || x === 'true' || x === 'false';
        case 'Json': return typeof x === 'object' || typeof x === 'string';
        default: return true;
        }
    };
    if (p.PrimitiveType) {
        if (!prim(p.PrimitiveType, v)) problems.push(`${path}: expected ${p.PrimitiveType}, got ${JSON.stringify(v)}`);
        return;
    }
    if (p.Type === 'List') {
        if (!Array.isArray(v)) { problems.push(`${path}: expected a list`); return; }
        v.forEach((x, i) => {
            if (p.PrimitiveItemType) {
                if (!prim(p.PrimitiveItemType, x)) problems.push(`${path}[${i}]: expected ${p.PrimitiveItemType}`);
            } else checkObject(x, p.ItemType, rtype, `${path}[${i}]`, problems);
        });
        return;
    }
    if (p.Type === 'Map') {
        if (typeof v !== 'object' || Array.isArray(v)) { problems.push(`${path}: expected a map`); return; }
        for (const [k, x] of Object.entries(v)) {
            if (p.PrimitiveItemType) {
                if (!prim(p.PrimitiveItemType, x)) problems.push(`${path}.${k}: expected ${p.PrimitiveItemType}`);
            } else checkObject(x, p.ItemType, rtype, `${path}.${k}`, problems);
        }
        return;
    }
    checkObject(v, p.Type, rtype, path, problems);
}
function checkObject(v, typeName, rtype, path, problems) {
    if (isIntrinsic(v))
        return;
    const pt = spec.PropertyTypes[`${rtype}.${typeName}`] || spec.PropertyTypes[typeName];
    if (!pt) { problems.push(`${path}: no property type ${typeName} in the specification`); return; }
    if (typeof v !== 'object' || Array.isArray(v)) { problems.push(`${path}: expected an object (${typeName})`); return; }
    checkProps(v, pt.Properties || {}, rtype, path, problems);
}
function checkProps(v, props, rtype, path, problems) {
    for (const [k, x] of Object.entries(v)) {
        if (!props[k]) problems.push(`${path}.${k}: not a property`);
        else checkValue(x, props[k], rtype, `${path}.${k}`, problems);
    }
    for (const [k, p] of Object.entries(props))
        if (p.Required && !(k in v)) problems.push(`${path}.${k}: required, missing`);
}

for (const [name, r] of Object.entries(res)) {
    const problems = [];
    const props = r.Properties || {};
    const extra = Object.keys(r).filter((k) => !['Type', 'Properties', 'DependsOn', 'Condition', 'DeletionPolicy',
        'UpdateReplacePolicy', 'Metadata'].includes(k));
    if (extra.length) problems.push(`unknown keys ${extra.join(', ')}`);
    if (SAM[r.Type]) {
        const s = SAM[r.Type];
        for (const k of Object.keys(props)) if (!s.props.includes(k)) problems.push(`${k}: not a ${r.Type} property`);
        for (const k of s.required) if (!(k in props)) problems.push(`${k}: required, missing`);
        if (s.lambda) {
            const lf = spec.ResourceTypes['AWS::Lambda::Function'].Properties;
            for (const k of s.lambda) if (k in props) checkValue(props[k], lf[k], 'AWS::Lambda::Function', k, problems);
            for (const [ev, e] of Object.entries(props.Events || {})) {
                if (e.Type !== 'HttpApi') { problems.push(`Events.${ev}: type ${e.Type} not expected here`); continue; }
                for (const k of Object.keys(e.Properties || {}))
                    if (!SAM_EVENT_HTTPAPI.includes(k)) problems.push(`Events.${ev}.${k}: not an HttpApi event property`);
            }
        }
    } else if (spec.ResourceTypes[r.Type]) {
        checkProps(props, spec.ResourceTypes[r.Type].Properties || {}, r.Type, 'Properties', problems);
    } else {
        problems.push(`type ${r.Type} is neither CloudFormation's nor SAM's`);
    }
    check(problems.length === 0, `${name} (${r.Type}): type, properties and value shapes match the specification`,
        problems.join('; '));
}

// --- references -----------------------------------------------------------------------------
const PSEUDO = ['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region',
    'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix'];
const refs = [];   // {from, kind, name, attr}
function walk(v, from, locals) {
    if (Array.isArray(v)) { v.forEach((x) => walk(x, from, locals)); return; }
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
        if (k === 'Ref') refs.push({ from, kind: 'Ref', name: x });
        else if (k === 'Fn::GetAtt') {
            const [a, ...b] = Array.isArray(x) ? x : String(x).split('.');
            refs.push({ from, kind: 'GetAtt', name: a, attr: b.join('.') });
        } else if (k === 'Fn::Sub') {
            const [str, vars] = Array.isArray(x) ? x : [x, {}];
            const names = new Set(Object.keys(vars || {}));
            for (const m of String(str).matchAll(/\$\{([^}!][^}]*)\}/g)) {
                const [a, ...b] = m[1].trim().split('.');
                if (names.has(m[1].trim())) continue;
                refs.push(b.length ? { from, kind: 'GetAtt', name: a, attr: b.join('.') } : { from, kind: 'Ref', name: a });
            }
            walk(vars, from, locals);
        } else if (k === 'Fn::If') {
            refs.push({ from, kind: 'Condition', name: x[0] });
            walk(x.slice(1), from, locals);
        } else if (k === 'Condition' && typeof x === 'string') {
            refs.push({ from, kind: 'Condition', name: x });
        } else walk(x, from, locals);
    }
}
for (const [name, r] of Object.entries(res)) {
    // SAM moves a function's HttpApi events into the API (the API then
    // depends on the function, not the other way round): their references
    // count as the API's.
    const { Events, ...rest } = r.Properties || {};
    walk(r.Type === 'AWS::Serverless::Function' ? rest : r.Properties, name);
    for (const e of Object.values(r.Type === 'AWS::Serverless::Function' && Events ? Events : {})) {
        const api = e.Properties && e.Properties.ApiId;
        walk(e.Properties, api && api.Ref in res ? api.Ref : name);
    }
    if (r.Condition) refs.push({ from: name, kind: 'Condition', name: r.Condition });
    for (const d of [].concat(r.DependsOn || [])) refs.push({ from: name, kind: 'DependsOn', name: d });
}
for (const [name, o] of Object.entries(outputs)) walk(o, `Outputs.${name}`);
for (const [name, c] of Object.entries(conds)) walk(c, `Conditions.${name}`);

function attrsOf(r) {
    if (SAM[r.Type]) return SAM[r.Type].attrs;
    const t = spec.ResourceTypes[r.Type];
    return t ? Object.keys(t.Attributes || {}) : [];
}
const dangling = [];
for (const x of refs) {
    if (x.kind === 'Ref' && !(x.name in params) && !(x.name in res) && !PSEUDO.includes(x.name))
        dangling.push(`${x.from}: Ref ${x.name}`);
    if (x.kind === 'GetAtt') {
        if (!(x.name in res)) dangling.push(`${x.from}: GetAtt ${x.name}.${x.attr} (no such resource)`);
        else if (!attrsOf(res[x.name]).includes(x.attr))
            dangling.push(`${x.from}: GetAtt ${x.name}.${x.attr} (${res[x.name].Type} has ${attrsOf(res[x.name]).join(', ')})`);
    }
    if (x.kind === 'Condition' && !(x.name in conds)) dangling.push(`${x.from}: condition ${x.name}`);
    if (x.kind === 'DependsOn' && !(x.name in res)) dangling.push(`${x.from}: DependsOn ${x.name}`);
}
check(refs.length > 0 && dangling.length === 0,
    `every !Ref, !GetAtt, \${...} in !Sub, condition and DependsOn (${refs.length}) names something that exists`,
    dangling.join('; '));
const used = new Set(refs.filter((x) => x.kind === 'Ref').map((x) => x.name));
const unused = Object.keys(params).filter((p) => !used.has(p));
check(unused.length === 0, 'every parameter is used', unused.join(', '));
const badDefaults = Object.entries(params).filter(([, p]) => 'Default' in p &&
    ((p.AllowedValues && !p.AllowedValues.map(String).includes(String(p.Default))) ||
     (p.Type === 'Number' && ((p.MinValue !== undefined && p.Default < p.MinValue) ||
                              (p.MaxValue !== undefined && p.Default > p.MaxValue)))));
const PARAM_KEYS = ['Type', 'Default', 'Description', 'AllowedValues', 'AllowedPattern', 'ConstraintDescription',
    'MinValue', 'MaxValue', 'MinLength', 'MaxLength', 'NoEcho'];
const badParamKeys = Object.entries(params).flatMap(([k, p]) =>
    Object.keys(p).filter((x) => !PARAM_KEYS.includes(x)).map((x) => `${k}.${x}`));
check(badDefaults.length === 0 && badParamKeys.length === 0,
    'parameters: only known keys, defaults satisfy their own constraints',
    badDefaults.map(([k]) => k).concat(badParamKeys).join(', '));

// Dependency graph of resources, with SAM's implicit API -> function edge.
const edges = {};
for (const name of Object.keys(res)) edges[name] = new Set();
for (const x of refs)
    if ((x.kind === 'Ref' || x.kind === 'GetAtt' || x.kind === 'DependsOn') && x.from in res && x.name in res &&
        x.from !== x.name)
        edges[x.from].add(x.name);
for (const [name, r] of Object.entries(res))
    for (const e of Object.values((r.Properties || {}).Events || {})) {
        const api = e.Properties && e.Properties.ApiId;
        if (api && api.Ref in res) edges[api.Ref].add(name);
    }
let cycle = null;
const state = {};
function dfs(v, stack) {
    state[v] = 1; stack.push(v);
    for (const w of edges[v]) {
        if (state[w] === 1) { cycle = stack.slice(stack.indexOf(w)).concat(w); return; }
        if (!state[w]) dfs(w, stack);
        if (cycle) return;
    }
    state[v] = 2; stack.pop();
}
for (const v of Object.keys(res)) if (!state[v] && !cycle) dfs(v, []);
check(!cycle, 'no dependency cycle between resources (SAM API -> function edges included)', cycle && cycle.join(' -> '));

// --- IAM: nothing beyond the bucket ---------------------------------------------------------
const subOf = (v) => (v && v['Fn::Sub'] !== undefined ? [].concat(v['Fn::Sub'])[0] : null);
const statements = [];
const iamProblems = [];
for (const [name, r] of Object.entries(res)) {
    const p = r.Properties || {};
    if (r.Type === 'AWS::IAM::Role') {
        if (p.ManagedPolicyArns) iamProblems.push(`${name}: managed policies ${JSON.stringify(p.ManagedPolicyArns)}`);
        if (p.PermissionsBoundary === undefined && false) iamProblems.push('');
        for (const pol of p.Policies || [])
            for (const s of [].concat(pol.PolicyDocument.Statement)) statements.push({ where: `${name}/${pol.PolicyName}`, s });
        const trust = [].concat(p.AssumeRolePolicyDocument.Statement);
        if (trust.length !== 1 || trust[0].Principal.Service !== 'lambda.amazonaws.com' || trust[0].Action !== 'sts:AssumeRole')
            iamProblems.push(`${name}: trust policy is not lambda.amazonaws.com alone`);
    } else if (/^AWS::IAM::(Policy|ManagedPolicy|User|Group)$/.test(r.Type)) {
        iamProblems.push(`${name}: ${r.Type} (only the function's role is expected)`);
    } else if (r.Type === 'AWS::Serverless::Function') {
        if (p.Policies) iamProblems.push(`${name}: SAM Policies (the role is explicit)`);
        if (!p.Role) iamProblems.push(`${name}: no explicit Role (SAM would add its own)`);
    }
}
const allowedS3 = 'arn:${AWS::Partition}:s3:::${DataBucket}/*';
for (const { where, s } of statements) {
    const actions = [].concat(s.Action || []);
    const resources = [].concat(s.Resource || []);
    if (s.Effect !== 'Allow') continue;
    if (s.NotAction || s.NotResource) iamProblems.push(`${where}: NotAction/NotResource`);
    for (const a of actions) {
        if (a === 's3:GetObject') {
            for (const r of resources)
                if (subOf(r) !== allowedS3) iamProblems.push(`${where}: s3:GetObject on ${JSON.stringify(r)}`);
        } else if (a === 'lambda:InvokeFunction') {
            /* the function itself (fan-out parts), unqualified and its versions */
            const own = 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-tiles';
            for (const r of resources)
                if (subOf(r) !== own && subOf(r) !== `${own}:*`)
                    iamProblems.push(`${where}: lambda:InvokeFunction on ${JSON.stringify(r)}`);
        } else if (a === 'logs:CreateLogStream' || a === 'logs:PutLogEvents') {
            for (const r of resources)
                if (!(r && r['Fn::GetAtt'] && r['Fn::GetAtt'][0] === 'TileFunctionLogGroup'))
                    iamProblems.push(`${where}: ${a} on ${JSON.stringify(r)}`);
        } else {
            iamProblems.push(`${where}: action ${a}`);
        }
    }
    if (resources.some((r) => typeof r === 'string' && r.includes('*')))
        iamProblems.push(`${where}: wildcard resource`);
}
const s3Actions = statements.flatMap(({ s }) => [].concat(s.Action || [])).filter((a) => a.startsWith('s3:'));
check(iamProblems.length === 0 && s3Actions.length === 1,
    'IAM: s3:GetObject on DataBucket/*, the function\'s own log stream, lambda:InvokeFunction on itself, nothing else',
    iamProblems.join('; ') || `s3 actions: ${s3Actions.join(', ')}`);

// --- what DEPLOY.md promises -------------------------------------------------------------------
const fnName = Object.keys(res).find((k) => res[k].Type === 'AWS::Serverless::Function');
const fn = (res[fnName] || {}).Properties || {};
const refTo = (v) => v && v.Ref;
check(fn.Runtime === 'provided.al2023' && fn.Handler === 'bootstrap' && fn.CodeUri === 'dist/cogtiler.zip',
    'function: provided.al2023, handler bootstrap, CodeUri dist/cogtiler.zip (written by make bundle / build-amzn.sh)',
    JSON.stringify({ Runtime: fn.Runtime, Handler: fn.Handler, CodeUri: fn.CodeUri }));
const arch = params[refTo((fn.Architectures || [])[0])];
check(arch && arch.Default === 'x86_64' && JSON.stringify(arch.AllowedValues) === '["x86_64","arm64"]',
    'architecture is a parameter, default x86_64, x86_64 or arm64');
const mem = params[refTo(fn.MemorySize)], tmo = params[refTo(fn.Timeout)];
check(mem && mem.Type === 'Number' && tmo && tmo.Type === 'Number' && tmo.MaxValue < 30 && tmo.Default < 30,
    `memory and timeout are parameters; timeout at most ${tmo && tmo.MaxValue} s, below the HTTP API's 30 s`);
const env = (fn.Environment || {}).Variables || {};
const wantEnv = ['COGTILER_CONFIG', 'COGTILER_CONFIG_JSON', 'COGTILER_ALLOWED_URL_PREFIXES', 'COGTILER_CACHE_CONTROL',
    'COGTILER_CORS_ORIGIN', 'COGTILER_PUBLIC_URL'];
const missingEnv = wantEnv.filter((k) => !(k in env));
check(missingEnv.length === 0, `function environment: ${wantEnv.join(', ')}`, `missing ${missingEnv.join(', ')}`);

const apiName = Object.keys(res).find((k) => res[k].Type === 'AWS::Serverless::HttpApi');
const events = Object.values(fn.Events || {}).map((e) => e.Properties || {});
check(apiName && events.some((e) => e.Method === 'GET' && e.Path === '/{proxy+}' && refTo(e.ApiId) === apiName) &&
    events.every((e) => e.PayloadFormatVersion === undefined || e.PayloadFormatVersion === '2.0'),
    'HTTP API with a catch-all GET /{proxy+} route, payload format 2.0');
check(['/statistics/{layer}', '/cog/statistics'].every((p) =>
    events.some((e) => e.Method === 'POST' && e.Path === p && refTo(e.ApiId) === apiName)),
    'HTTP API routes POST /statistics/{layer} and POST /cog/statistics (zonal statistics)');
check(fn.Environment && fn.Environment.Variables && 'COGTILER_FANOUT_CONCURRENCY' in fn.Environment.Variables &&
    fn.ReservedConcurrentExecutions !== undefined,
    'fan-out: COGTILER_FANOUT_CONCURRENCY set, reserved concurrency (the cap on fan-out) a parameter');

const cp = Object.values(res).find((r) => r.Type === 'AWS::CloudFront::CachePolicy');
const cpc = cp && cp.Properties.CachePolicyConfig;
const keyParams = ['colormap_name', 'colormap', 'rescale', 'bidx', 'nodata', 'resampling', 'algorithm',
    'algorithm_params', 'tilesize', 'url', 'expression', 'weights', 'remap', 'quality',
    'tile_format'];
const qs = cpc && cpc.ParametersInCacheKeyAndForwardedToOrigin.QueryStringsConfig;
check(qs && qs.QueryStringBehavior === 'whitelist' &&
    JSON.stringify([...qs.QueryStrings].sort()) === JSON.stringify([...keyParams].sort()),
    `cache key: exactly the query parameters that change the image (${keyParams.join(', ')})`,
    qs && JSON.stringify(qs));
const pk = cpc && cpc.ParametersInCacheKeyAndForwardedToOrigin;
check(cpc && cpc.MinTTL === 0 && cpc.MaxTTL >= 86400 && pk.CookiesConfig.CookieBehavior === 'none' &&
    pk.HeadersConfig.HeaderBehavior === 'whitelist' &&
    JSON.stringify(pk.HeadersConfig.Headers) === JSON.stringify(['x-forwarded-host']) &&
    pk.EnableAcceptEncodingGzip === true,
    'cache policy honours the origin\'s Cache-Control (MinTTL 0), no cookies, only x-forwarded-host of the headers in the key (TileJSON and WMTS name it), gzip allowed',
    pk && JSON.stringify(pk.HeadersConfig));

const dist = Object.values(res).find((r) => r.Type === 'AWS::CloudFront::Distribution');
const dc = dist && dist.Properties.DistributionConfig;
const dcb = dc && dc.DefaultCacheBehavior;
const origin = dc && dc.Origins.find((o) => o.Id === dcb.TargetOriginId);
check(dcb && dcb.ViewerProtocolPolicy === 'redirect-to-https' && dcb.Compress === true &&
    refTo(dcb.CachePolicyId) && res[refTo(dcb.CachePolicyId)] === cp && !dcb.ForwardedValues,
    'distribution: HTTP redirected to HTTPS, compression on (CloudFront compresses JSON, never image/png), our cache policy');
check(origin && origin.CustomOriginConfig.OriginProtocolPolicy === 'https-only' &&
    (subOf(origin.DomainName) || '').startsWith(`\${${apiName}}.execute-api.`),
    'distribution origin: the HTTP API, over HTTPS only', origin && JSON.stringify(origin.DomainName));

// CloudFront's host on the first deploy: a viewer-request function copies the
// viewer's Host into x-forwarded-host (run here on sample events), and the
// origin gets a secret header whose value is the function's
// COGTILER_ORIGIN_SECRET, generated by CloudFormation (not a literal).
const assoc = ((dcb && dcb.FunctionAssociations) || []).filter((a) => a.EventType === 'viewer-request');
const cfFnName = assoc.length === 1 && assoc[0].FunctionARN && assoc[0].FunctionARN['Fn::GetAtt'] &&
    assoc[0].FunctionARN['Fn::GetAtt'][0];
const cfFn = cfFnName && res[cfFnName];
let hostCopied = false, why = 'no viewer-request CloudFront::Function';
if (cfFn && cfFn.Type === 'AWS::CloudFront::Function') {
    try {
        const vm = require('vm');
        const run = (headers) => {
            const ctx = {};
            vm.runInNewContext(`${cfFn.Properties.FunctionCode}\nout = handler(ev);`,
                Object.assign(ctx, { ev: { request: { uri: '/tiles/a/1/0/0.png', headers } } }));
            return ctx.out.headers;
        };
        const a = run({ host: { value: 'd111.cloudfront.net' }, 'x-forwarded-host': { value: 'evil.test' } });
        const b = run({ 'x-forwarded-host': { value: 'evil.test' } });
        hostCopied = a['x-forwarded-host'].value === 'd111.cloudfront.net' && a.host.value === 'd111.cloudfront.net' &&
            !('x-forwarded-host' in b) && cfFn.Properties.FunctionConfig.Runtime === 'cloudfront-js-2.0' &&
            cfFn.Properties.AutoPublish === true;
        why = JSON.stringify([a, b]);
    } catch (e) {
        why = String(e);
    }
}
check(hostCopied, 'CloudFront Function (viewer-request): the viewer\'s Host becomes x-forwarded-host, a client\'s own is dropped', why);
const secretHdr = origin && (origin.OriginCustomHeaders || []).find((h) => h.HeaderName === 'X-Cogtiler-Origin-Secret');
const secretEnv = env.COGTILER_ORIGIN_SECRET;
check(secretHdr && secretEnv && typeof secretEnv === 'object' &&
    JSON.stringify(secretHdr.HeaderValue) === JSON.stringify(secretEnv) &&
    JSON.stringify(secretEnv).includes('AWS::StackId'),
    'origin secret: the origin\'s X-Cogtiler-Origin-Secret is the function\'s COGTILER_ORIGIN_SECRET, generated from the stack (no literal)',
    JSON.stringify([secretHdr, secretEnv]));

const out = (k) => subOf((outputs[k] || {}).Value) || '';
const distName = Object.keys(res).find((k) => res[k] === dist);
check(out('TileUrlTemplate') === `https://\${${distName}.DomainName}/tiles/{layer}/{z}/{x}/{y}.png` &&
    out('TileJsonUrl') === `https://\${${distName}.DomainName}/tiles/{layer}/tilejson.json`,
    'outputs: the CloudFront tile URL template and TileJSON URL', `${out('TileUrlTemplate')} ${out('TileJsonUrl')}`);

console.log(`# ${n - failed} of ${n} template checks passed`);
process.exit(failed ? 1 : 0);

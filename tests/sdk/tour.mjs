// The official Node SDK (@hubspot/api-client, pinned in package.json) on a scripted tour of the
// standalone sandbox. Run by tests/sdk/test_node_tour.py, which starts the sandbox, gets the
// authorization codes from its consent page and asserts on what this prints: one JSON line per
// step, {"step": name, "ok": true, "facts": {...}} or {"step": name, "ok": false, "error":
// {"code": HTTP status, "body": HubSpot's error body as the SDK exposes it}}. The steps and the
// HubSpot pages they follow are those of tests/sdk/test_python_tour.py.
//
// Environment: TOUR_BASE_URL, TOUR_CLIENT_ID, TOUR_CLIENT_SECRET, TOUR_REDIRECT_URI, TOUR_CODES
// (two authorization codes, comma-separated), TOUR_CONTACT_IDS (comma-separated), and
// TOUR_SANDBOX_SET (a JSON argv prefix running `manage.py sandbox_set` on the sandbox).
import { execFileSync } from 'node:child_process';
import hubspot from '@hubspot/api-client';

const { Client } = hubspot;
const env = process.env;
const basePath = env.TOUR_BASE_URL;
const clientId = env.TOUR_CLIENT_ID;
const clientSecret = env.TOUR_CLIENT_SECRET;
const redirectUri = env.TOUR_REDIRECT_URI;
const [code, secondCode] = env.TOUR_CODES.split(',');
const contacts = env.TOUR_CONTACT_IDS.split(',');
const sandboxSet = JSON.parse(env.TOUR_SANDBOX_SET);
const APPOINTMENTS = '0-421';

const client = new Client({ basePath });
const tokens = {};
const created = {};

function setSandbox(...args) {
  execFileSync(sandboxSet[0], [...sandboxSet.slice(1), ...args], { stdio: 'ignore' });
}

async function step(name, run) {
  try {
    const facts = await run();
    console.log(JSON.stringify({ step: name, ok: true, facts: facts ?? {} }));
  } catch (error) {
    const failure = error?.code !== undefined
      ? { code: error.code, body: error.body ?? null }
      : { code: null, body: String(error?.stack ?? error) };
    console.log(JSON.stringify({ step: name, ok: false, error: failure }));
  }
}

function contact(id, typeId = 906, category = 'HUBSPOT_DEFINED') {
  return { to: { id }, types: [{ associationCategory: category, associationTypeId: typeId }] };
}

function input(name, { trace, associations = [], ...props } = {}) {
  const properties = name ? { hs_appointment_name: name, ...props } : props;
  return { properties, associations, ...(trace ? { objectWriteTraceId: trace } : {}) };
}

function names(results) {
  return results.map((r) => r.properties.hs_appointment_name);
}

async function eventually(search, done, seconds = 20) {
  // Search lags writes in HubSpot: poll for a fresh record, as an integrator would.
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const result = await search();
    if (done(result) || Date.now() > deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const search = (body) => client.crm.objects.searchApi.doSearch(APPOINTMENTS, body);
const createBatch = (inputs) =>
  client.crm.objects.batchApi.createWithHttpInfo(APPOINTMENTS, { inputs });

await step('oauth_code', async () => {
  const answer = await client.oauth.tokensApi.create(
    'authorization_code', code, redirectUri, clientId, clientSecret,
  );
  tokens.access = answer.accessToken;
  tokens.refresh = answer.refreshToken;
  client.setAccessToken(answer.accessToken);
  return {
    tokenType: answer.tokenType,
    expiresIn: answer.expiresIn,
    hasTokens: Boolean(answer.accessToken && answer.refreshToken),
  };
});

await step('oauth_metadata', async () => {
  const access = await client.oauth.accessTokensApi.get(tokens.access);
  const refresh = await client.oauth.refreshTokensApi.get(tokens.refresh);
  return {
    access: { hubId: access.hubId, tokenType: access.tokenType, user: access.user,
      scopes: access.scopes, expiresIn: access.expiresIn },
    refresh: { clientId: refresh.clientId, tokenType: refresh.tokenType },
  };
});

await step('oauth_unknown_token_metadata', () => client.oauth.accessTokensApi.get('CNnothing'));

await step('oauth_used_code', async () => {
  await client.oauth.tokensApi.create(
    'authorization_code', secondCode, redirectUri, clientId, clientSecret,
  );
  return client.oauth.tokensApi.create(
    'authorization_code', secondCode, redirectUri, clientId, clientSecret,
  );
});

await step('properties', async () => {
  const answer = await client.crm.properties.coreApi.getAll(APPOINTMENTS);
  const byName = Object.fromEntries(answer.results.map((p) => [p.name, p]));
  return {
    nameType: byName.hs_appointment_name.type,
    statusType: byName.hs_appointment_status.type,
    statusOptions: byName.hs_appointment_status.options.map((o) => o.value),
    objectIdReadOnly: byName.hs_object_id.modificationMetadata.readOnlyValue,
  };
});

await step('association_labels', async () => {
  const answer = await client.crm.associations.v4.schema.definitionsApi.getAll(
    APPOINTMENTS, 'contacts',
  );
  return { labels: answer.results.map((r) => [r.category, r.typeId, r.label ?? null]) };
});

await step('batch_create_201', async () => {
  const inputs = [0, 1, 2].map((n) => input(`Tour visit ${n}`, {
    trace: `node-${n}`,
    associations: [contact(contacts[n]), contact(contacts[n], 37, 'USER_DEFINED')],
    hs_appointment_status: n % 2 ? 'scheduled' : 'completed',
    hs_appointment_start: `2027-01-0${n + 1}T09:00:00.000Z`,
  }));
  const answer = await createBatch(inputs);
  for (const r of answer.data.results) created[r.properties.hs_appointment_name] = r.id;
  return {
    httpStatus: answer.httpStatusCode,
    status: answer.data.status,
    names: names(answer.data.results).sort(),
    timestamps: Boolean(answer.data.startedAt && answer.data.completedAt),
  };
});

await step('batch_create_207', async () => {
  const answer = await createBatch([
    input('Tour partial ok', { trace: 'node-ok' }),
    input('Tour partial bad', { trace: 'node-bad', hs_appointment_status: 'bogus' }),
  ]);
  for (const r of answer.data.results) created[r.properties.hs_appointment_name] = r.id;
  return {
    httpStatus: answer.httpStatusCode,
    numErrors: answer.data.numErrors,
    errors: (answer.data.errors ?? []).map((e) => ({ category: e.category, context: e.context })),
    names: names(answer.data.results),
  };
});

await step('batch_read', async () => {
  const ids = Object.values(created).sort();
  const answer = await client.crm.objects.batchApi.read(APPOINTMENTS, {
    inputs: ids.map((id) => ({ id })), properties: ['hs_appointment_name'], propertiesWithHistory: [],
  });
  return {
    status: answer.status,
    records: Object.fromEntries(answer.results.map((r) => [r.id, r.properties.hs_appointment_name])),
    created,
  };
});

await step('search_filters', async () => {
  const wanted = ['Tour visit 0', 'Tour visit 2'];
  const body = {
    filterGroups: [{ filters: [
      // IN on a string property: values must be lowercase (HubSpot's search guide).
      {
        propertyName: 'hs_appointment_name',
        operator: 'IN',
        values: wanted.map((n) => n.toLowerCase()),
      },
      { propertyName: 'hs_appointment_status', operator: 'EQ', value: 'completed' },
    ] }],
    properties: ['hs_appointment_name', 'hs_appointment_status'],
    limit: 10,
  };
  const answer = await eventually(() => search(body), (a) => a.total === 2);
  return {
    total: answer.total,
    names: names(answer.results).sort(),
    statuses: answer.results.map((r) => r.properties.hs_appointment_status),
  };
});

await step('search_sorts', async () => {
  const body = {
    filterGroups: [{ filters: [{ propertyName: 'hs_appointment_start', operator: 'HAS_PROPERTY' }] }],
    sorts: [{ propertyName: 'hs_appointment_start', direction: 'DESCENDING' }],
    properties: ['hs_appointment_name'],
  };
  const answer = await eventually(() => search(body), (a) => a.total === 3);
  return { names: names(answer.results) };
});

await step('search_minimal', async () => {
  const answer = await eventually(() => search({}), (a) => a.total === 4);
  return { total: answer.total, properties: Object.keys(answer.results[0]?.properties ?? {}) };
});

await step('read_one_properties', async () => {
  const record = await client.crm.objects.basicApi.getById(
    APPOINTMENTS, created['Tour visit 1'],
    ['hs_appointment_name', 'hs_appointment_status', 'hs_appointment_start'],
  );
  return { properties: record.properties };
});

await step('read_one_associations', async () => {
  const record = await client.crm.objects.basicApi.getById(
    APPOINTMENTS, created['Tour visit 1'], undefined, undefined, ['contacts'],
  );
  return { contacts: record.associations?.contacts?.results?.map((a) => a.id) ?? null };
});

await step('invalid_option', () => createBatch([input('Bad option', { hs_appointment_status: 'bogus' })]));
await step('missing_required', () => createBatch([input('', { hs_appointment_status: 'scheduled' })]));
await step('unknown_association', () =>
  createBatch([input('Ghost link', { associations: [contact('99999999999')] })]));
await step('too_many_inputs', () =>
  createBatch(Array.from({ length: 101 }, (_, n) => input(`Too many ${n}`))));

await step('bad_token', () =>
  new Client({ basePath, accessToken: 'CNnot-a-token' }).crm.properties.coreApi.getAll(APPOINTMENTS));

await step('expired_token', async () => {
  setSandbox('--advance-clock', '1805');
  return client.crm.properties.coreApi.getAll(APPOINTMENTS);
});

await step('refresh', async () => {
  const answer = await client.oauth.tokensApi.create(
    'refresh_token', undefined, undefined, clientId, clientSecret, tokens.refresh,
  );
  client.setAccessToken(answer.accessToken);
  const properties = await client.crm.properties.coreApi.getAll(APPOINTMENTS);
  return { newToken: answer.accessToken !== tokens.access, properties: properties.results.length };
});

await step('rate_limit_retry', async () => {
  // As an integrator enables it: the SDK's own retry (numberOfApiCallRetries).
  const retrying = new Client({
    basePath, accessToken: client.config.accessToken, numberOfApiCallRetries: 2,
  });
  setSandbox('--rate-limit', '3');
  try {
    let answered = 0;
    for (let n = 0; n < 5; n += 1) {
      const answer = await retrying.crm.properties.coreApi.getAll(APPOINTMENTS);
      answered += answer.results.length > 0 ? 1 : 0;
    }
    return { answered };
  } finally {
    setSandbox('--rate-limit', '110');
  }
});

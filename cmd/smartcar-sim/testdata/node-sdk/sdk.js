'use strict';
// Runs the official Smartcar Node SDK against the simulator, unchanged: the
// environment says where (SMARTCAR_*_ORIGIN) and as whom; node_sdk_test.go
// checks what this prints (one JSON object on stdout).
const smartcar = require('smartcar');

async function attempt(fn) {
  try {
    return {ok: await fn()};
  } catch (err) {
    return {error: {name: err.name, statusCode: err.statusCode, type: err.type, code: err.code,
      requestId: err.requestId, message: err.message}};
  }
}

async function main() {
  const out = {};
  const auth = new smartcar.AuthClient({redirectUri: process.env.SMARTCAR_REDIRECT_URI});
  const access = await auth.exchangeRefreshToken(process.env.SMARTCAR_REFRESH_TOKEN);
  out.refreshed = Boolean(access.accessToken && access.refreshToken);

  // v2.0
  const {vehicles} = await smartcar.getVehicles(access.accessToken);
  out.vehicles = vehicles;
  const id = process.env.SMARTCAR_VEHICLE_ID;
  const vehicle = new smartcar.Vehicle(id, access.accessToken);
  const odometer = await vehicle.odometer();
  out.v2Odometer = {distance: odometer.distance, requestId: odometer.meta.requestId};
  const batch = await vehicle.batch(['/odometer', '/location']);
  out.v2Batch = {odometer: batch.odometer().distance, latitude: batch.location().latitude};

  // v3, user-token mode: the user's access token, no sc-user-id.
  const info = await smartcar.getVehicle(access.accessToken, id);
  out.v3Vehicle = info.body;
  const signals = await vehicle.getSignals();
  out.v3Signals = signals.body;
  out.v3SignalsRequestId = signals.headers['sc-request-id'];
  const signal = await vehicle.getSignal('odometer-traveleddistance');
  out.v3Signal = signal.body;
  out.v3Unknown = await attempt(() => vehicle.getSignal('odometer-nothing'));
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(`node sdk: ${err.stack || err}\n`);
  if (err.type) {
    process.stderr.write(`${err.statusCode} ${err.type}:${err.code} ${err.description}\n`);
  }
  process.exit(1);
});

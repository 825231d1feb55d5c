// Benchmarks run against the local stand-ins (market simulator, functions server) on loopback over
// http, which the egress policy allows only in local dev. Imported first, before anything reads it.
process.env.PEAKWATCH_LOCAL_DEV = "1";

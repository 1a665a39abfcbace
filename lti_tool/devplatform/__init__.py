"""The development LMS: a real LTI 1.3 platform for the demo and tests, reaching the tool over HTTP."""

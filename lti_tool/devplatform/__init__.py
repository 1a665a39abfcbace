"""The development LMS: a real LTI 1.3 platform for demo and tests, over HTTP only."""

//! LLM diagnosis: builds prompts from a failure and its sources and asks any OpenAI-compatible server

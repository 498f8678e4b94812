//! The repair loop end to end, without Docker or HTTP: a real git repository
//! in a temp dir, a scripted model and a scripted sandbox that record what
//! they were asked, so each test pins what the loop decided and what it told
//! the model.
mod suite;

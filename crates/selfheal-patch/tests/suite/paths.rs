//! Public-API checks that scenario folders cannot express.

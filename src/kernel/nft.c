// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

#include "killswitch/netlink.h"
#include "killswitch/nft.h"
#include "killswitch/parse.h"

/*
 * libnftables hands its error buffer out once: a second call returns "".
 * So each failure reads it here, once, classifies it, and keeps the first
 * "Error: ..." line (the message may span several) in err.
 */
static int take_error(struct nft_ctx *nft, const char *what, char err[KS_ERR_LEN])
{
	const char *text = nft_ctx_get_error_buffer(nft);
	const char *line = text ? strstr(text, "Error: ") : NULL;
	char escaped[KS_ERR_LEN / 2], one[96];
	size_t len;
	int ret = -EIO;

	if (text && strstr(text, "No such file or directory"))
		ret = -ENOENT;
	else if (text && strstr(text, "Operation not permitted"))
		ret = -EPERM;
	if (!line)
		line = text && *text ? text : "unknown error";
	else
		line += strlen("Error: ");
	len = strcspn(line, "\n");
	if (len >= sizeof(one))
		len = sizeof(one) - 1;
	memcpy(one, line, len);
	one[len] = '\0';
	snprintf(err, KS_ERR_LEN, "%s: '%s'", what, ks_escape(one, escaped, sizeof(escaped)));
	return ret;
}

static struct nft_ctx *open_ctx(bool json, char err[KS_ERR_LEN])
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);

	if (!nft) {
		snprintf(err, KS_ERR_LEN, "cannot create an nftables context");
		return NULL;
	}
	if (nft_ctx_buffer_output(nft) || nft_ctx_buffer_error(nft)) {
		nft_ctx_free(nft);
		snprintf(err, KS_ERR_LEN, "cannot buffer nftables output");
		return NULL;
	}
	if (json)
		nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
	return nft;
}

/* Runs a listing command in JSON and returns the "nftables" array's parent, or NULL. */
static json_t *list_json(struct nft_ctx *nft, const char *cmd, int *ret, char err[KS_ERR_LEN])
{
	json_error_t jerr;
	json_t *root;

	if (nft_run_cmd_from_buffer(nft, cmd)) {
		*ret = take_error(nft, "nftables refused to list the table", err);
		return NULL;
	}
	root = json_loads(nft_ctx_get_output_buffer(nft), 0, &jerr);
	if (!root) {
		*ret = -EIO;
		snprintf(err, KS_ERR_LEN, "cannot parse the nftables listing: '%s'", jerr.text);
	}
	return root;
}

/* Checks the chains of table against ks_chain_specs; fills status->complete and problem. */
static int check_chains(struct nft_ctx *nft, const char *table, struct ks_nft_status *status, char err[KS_ERR_LEN])
{
	bool seen[16] = { false };
	json_t *root, *items, *item;
	size_t i;
	int ret = 0;

	root = list_json(nft, "list chains inet", &ret, err);
	if (!root)
		return ret;
	items = json_object_get(root, "nftables");
	json_array_foreach(items, i, item) {
		json_t *chain = json_object_get(item, "chain");
		const char *tname = json_string_value(json_object_get(chain, "table"));
		const char *name = json_string_value(json_object_get(chain, "name"));
		const char *policy = json_string_value(json_object_get(chain, "policy"));

		if (!chain || !tname || !name || strcmp(tname, table))
			continue;
		status->active = true;
		for (unsigned s = 0; s < ks_n_chain_specs; s++) {
			if (strcmp(name, ks_chain_specs[s].name))
				continue;
			if (!policy || strcmp(policy, ks_chain_specs[s].policy)) {
				snprintf(status->problem, sizeof(status->problem), "chain %s has policy %s, not %s",
					 name, policy ? policy : "none", ks_chain_specs[s].policy);
				goto cleanup;
			}
			seen[s] = true;
		}
	}
	for (unsigned s = 0; s < ks_n_chain_specs; s++) {
		if (!seen[s]) {
			snprintf(status->problem, sizeof(status->problem), "chain %s is missing",
				 ks_chain_specs[s].name);
			goto cleanup;
		}
	}
	status->complete = true;
cleanup:
	json_decref(root);
	return 0;
}

/* Through nfnetlink: libnftables would fetch every set element to list four counters. */
static int read_counters(const char *table, struct ks_nft_status *status, char err[KS_ERR_LEN])
{
	struct ks_nfnl_counter counters[KS_COUNTER_MAX];
	int ret = ks_nfnl_counters(table, ks_counter_names, KS_COUNTER_MAX, counters);

	if (ret < 0) {
		snprintf(err, KS_ERR_LEN, "cannot read the counters: '%s'", strerror(-ret));
		return ret;
	}
	for (unsigned c = 0; c < KS_COUNTER_MAX; c++) {
		status->counters[c].present = counters[c].present;
		status->counters[c].packets = counters[c].packets;
		status->counters[c].bytes = counters[c].bytes;
	}
	return 0;
}

/* Apply needs only the chains; status also reads the counters. */
static int read_status(const char *table, bool with_counters, struct ks_nft_status *status, char err[KS_ERR_LEN])
{
	struct nft_ctx *nft;
	int ret;

	memset(status, 0, sizeof(*status));
	nft = open_ctx(true, err);
	if (!nft)
		return -ENOMEM;
	ret = check_chains(nft, table, status, err);
	if (ret < 0 || !status->active || !with_counters)
		goto cleanup;
	ret = read_counters(table, status, err);
cleanup:
	nft_ctx_free(nft);
	return ret;
}

int ks_nft_status(const char *table, struct ks_nft_status *status, char err[KS_ERR_LEN])
{
	return read_status(table, true, status, err);
}

int ks_nft_apply(const char *transaction, const char *table, char err[KS_ERR_LEN])
{
	struct ks_nft_status status;
	struct nft_ctx *nft;
	int ret = -EIO;

	nft = open_ctx(false, err);
	if (!nft)
		return -ENOMEM;
	if (nft_run_cmd_from_buffer(nft, transaction)) {
		ret = take_error(nft, "nftables refused the ruleset; the previous one is unchanged", err);
		goto cleanup;
	}
	ret = read_status(table, false, &status, err);
	if (ret < 0) {
		ret = -ENOTRECOVERABLE;
		goto cleanup;
	}
	if (!status.active || !status.complete) {
		ret = -ENOTRECOVERABLE;
		snprintf(err, KS_ERR_LEN, "the table read back is not the one applied: '%s'",
			 status.active ? status.problem : "table missing");
		goto cleanup;
	}
	ret = 0;
cleanup:
	nft_ctx_free(nft);
	return ret;
}

int ks_nft_run(const char *commands, char err[KS_ERR_LEN])
{
	struct nft_ctx *nft = open_ctx(false, err);
	int ret = 0;

	if (!nft)
		return -ENOMEM;
	if (nft_run_cmd_from_buffer(nft, commands))
		ret = take_error(nft, "nftables refused the change; nothing changed", err);
	nft_ctx_free(nft);
	return ret;
}

int ks_nft_remove(const char *table, bool *was_active, char err[KS_ERR_LEN])
{
	struct ks_nft_status status;
	struct nft_ctx *nft;
	char cmd[128];
	int ret;

	ret = read_status(table, false, &status, err);
	if (ret < 0)
		return ret;
	*was_active = status.active;
	nft = open_ctx(false, err);
	if (!nft)
		return -ENOMEM;
	/* Create-then-delete in one transaction: succeeds whether or not the table exists. */
	snprintf(cmd, sizeof(cmd), "table inet %s\ndelete table inet %s\n", table, table);
	ret = 0;
	if (nft_run_cmd_from_buffer(nft, cmd)) {
		ret = take_error(nft, "nftables refused to remove the table", err);
	}
	nft_ctx_free(nft);
	return ret;
}

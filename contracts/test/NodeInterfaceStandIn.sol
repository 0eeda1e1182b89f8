// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// A stand-in for Arbitrum's NodeInterface, for tests only (tests/scanner/test_l1cost.py).
/// The real NodeInterface at 0x...C8 is a virtual contract served by the Nitro node, which anvil
/// cannot run; a test places this code there with anvil_setCode. It answers
/// gasEstimateComponents with the real ABI and known numbers: the L1 gas grows with the size of
/// the call estimated (so a test sees which call was sent) and the base fee is a constant.
contract NodeInterfaceStandIn {
    uint64 public constant L1_GAS_PER_BYTE = 100;
    uint256 public constant BASE_FEE = 100_000_000; // 0.1 gwei
    uint256 public constant L1_BASE_FEE = 30_000_000_000;

    function gasEstimateComponents(address, bool, bytes calldata data)
        external
        payable
        returns (uint64 gasEstimate, uint64 gasEstimateForL1, uint256 baseFee, uint256 l1BaseFeeEstimate)
    {
        gasEstimateForL1 = uint64(data.length) * L1_GAS_PER_BYTE;
        return (gasEstimateForL1 + 21_000, gasEstimateForL1, BASE_FEE, L1_BASE_FEE);
    }
}

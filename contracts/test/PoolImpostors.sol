// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title Pool impostors: contracts that look like a Uniswap pool to a caller and call back like
///  one, but that no allowed factory created. Test-only (compiled by the executor's tests, never
///  deployed by the devnet): the executor must refuse their callbacks (NotAGenuinePool).
/// @dev Each reports a real factory and the tokens and fee of a real pool, so only the factory's
///  own registry (getPair/getPool) tells it from the genuine pool.

interface IV2Callee {
    function uniswapV2Call(address sender, uint256 amount0, uint256 amount1, bytes calldata data) external;
}

interface IV3SwapCallback {
    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data) external;
}

contract V2PairImpostor {
    address public immutable token0;
    address public immutable token1;
    address public immutable factory;

    constructor(address token0_, address token1_, address factory_) {
        token0 = token0_;
        token1 = token1_;
        factory = factory_;
    }

    function getReserves() external pure returns (uint112, uint112, uint32) {
        return (1e24, 1e24, 0);
    }

    /// Lends nothing and calls back as a pair's flash swap would.
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external {
        IV2Callee(to).uniswapV2Call(msg.sender, amount0Out, amount1Out, data);
    }
}

contract V3PoolImpostor {
    address public immutable token0;
    address public immutable token1;
    uint24 public immutable fee;
    address public immutable factory;

    constructor(address token0_, address token1_, uint24 fee_, address factory_) {
        token0 = token0_;
        token1 = token1_;
        fee = fee_;
        factory = factory_;
    }

    /// Pays nothing and asks the caller to pay, as a pool's swap callback would.
    function swap(address, bool zeroForOne, int256 amountSpecified, uint160, bytes calldata data)
        external
        returns (int256 amount0, int256 amount1)
    {
        (amount0, amount1) = zeroForOne ? (amountSpecified, -amountSpecified) : (-amountSpecified, amountSpecified);
        IV3SwapCallback(msg.sender).uniswapV3SwapCallback(amount0, amount1, data);
    }
}
